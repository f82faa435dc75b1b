namespace AiStreaming.AppHost.Hosting;

/// <summary>
/// <c>WithReference</c>, <c>WaitFor</c>, <c>WithEnvironment</c>, <c>WithReplicas</c>, <c>WithExternalHttpEndpoints</c>, with
/// Aspire's names and meanings; each records an annotation. The <c>AddXxx</c> methods live beside their resource kinds.
/// </summary>
public static class ResourceBuilderExtensions
{
    /// <summary>
    /// Gives <paramref name="builder"/>'s processes <paramref name="source"/>'s connection string as
    /// <c>ConnectionStrings__{connectionName ?? source name}</c>.
    /// </summary>
    public static IResourceBuilder<T> WithReference<T>(
        this IResourceBuilder<T> builder, IResourceBuilder<IResourceWithConnectionString> source, string? connectionName = null)
        where T : IResourceWithEnvironment
    {
        var key = $"ConnectionStrings__{connectionName ?? source.Resource.Name}";
        return builder.AddReference(source.Resource, async context =>
            context.EnvironmentVariables[key] = await source.Resource.GetConnectionStringAsync().ConfigureAwait(false)
                ?? throw new DistributedApplicationException($"Resource '{source.Resource.Name}' has no connection string."));
    }

    /// <summary>
    /// Gives <paramref name="builder"/>'s processes <paramref name="source"/>'s one endpoint in .NET service discovery's form,
    /// <c>services__{name}__http__0=http://127.0.0.1:{port}</c>: with several replicas, the load balancer in front of them.
    /// </summary>
    public static IResourceBuilder<T> WithReference<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResourceWithServiceDiscovery> source)
        where T : IResourceWithEnvironment
    {
        var endpoint = source.Resource.Endpoint()
            ?? throw new NotSupportedException($"{source.Resource} has no endpoint to refer to.");
        return builder.AddReference(source.Resource, context =>
        {
            context.EnvironmentVariables[$"services__{source.Resource.Name}__{endpoint.Scheme}__0"] = endpoint.Url.GetLeftPart(UriPartial.Authority);
            return Task.CompletedTask;
        });
    }

    /// <summary>Starts <paramref name="builder"/>'s resource only once every replica of <paramref name="dependency"/> is healthy.</summary>
    /// <exception cref="ArgumentException">A resource would wait for itself.</exception>
    public static IResourceBuilder<T> WaitFor<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResource> dependency)
        where T : IResourceWithWaitSupport
    {
        if (ReferenceEquals(builder.Resource, dependency.Resource))
        {
            throw new ArgumentException($"Resource '{builder.Resource.Name}' cannot wait for itself.", nameof(dependency));
        }
        builder.Resource.Annotations.Add(new WaitAnnotation(dependency.Resource));
        return builder;
    }

    /// <summary>Sets an environment variable on every replica (null removes it); it overrides what the AppHost sets.</summary>
    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, string name, string? value)
        where T : IResourceWithEnvironment =>
        builder.WithEnvironment(context =>
        {
            if (value is null)
            {
                context.EnvironmentVariables.Remove(name);
            }
            else
            {
                context.EnvironmentVariables[name] = value;
            }
        });

    /// <summary>Changes a replica's environment just before it starts (after the AppHost's own variables and references).</summary>
    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, Action<EnvironmentCallbackContext> callback)
        where T : IResourceWithEnvironment
    {
        builder.Resource.Annotations.Add(new EnvironmentCallbackAnnotation(context =>
        {
            callback(context);
            return Task.CompletedTask;
        }));
        return builder;
    }

    /// <summary>
    /// Runs <paramref name="replicas"/> processes of the project behind one endpoint: the AppHost load-balances them as
    /// Aspire's proxy does (see <c>docs/aspire.md</c>), and consumers get only <c>services__{name}__http__0</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="replicas"/> is less than 1.</exception>
    public static IResourceBuilder<ProjectResource> WithReplicas(this IResourceBuilder<ProjectResource> builder, int replicas)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        builder.Resource.Annotations.Add(new ReplicaAnnotation(replicas));
        return builder;
    }

    /// <summary>
    /// Sticky sessions for a replicated project, as Container Apps ingress offers them (<c>stickySessions.affinity:
    /// sticky</c>): the load balancer sets an affinity cookie and sends that client's later requests to the same replica
    /// while it is healthy (another one when it is not). Needed by SignalR's negotiate-based transports (SSE, long
    /// polling: negotiate and connect must reach one replica); plain HTTP APIs and WebSockets without negotiate do not
    /// need it, so it is off unless asked for.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithStickySessions(this IResourceBuilder<ProjectResource> builder)
    {
        builder.Resource.Annotations.Add(new StickySessionsAnnotation());
        return builder;
    }

    /// <summary>Marks the project as the one people open: its URL is printed when the application has started.</summary>
    public static IResourceBuilder<ProjectResource> WithExternalHttpEndpoints(this IResourceBuilder<ProjectResource> builder)
    {
        builder.Resource.Endpoint()!.IsExternal = true;
        return builder;
    }

    private static IResourceBuilder<T> AddReference<T>(this IResourceBuilder<T> builder, IResource source, Func<EnvironmentCallbackContext, Task> callback)
        where T : IResource
    {
        builder.Resource.Annotations.Add(new ResourceRelationshipAnnotation(source, "Reference"));
        builder.Resource.Annotations.Add(new EnvironmentCallbackAnnotation(callback));
        return builder;
    }
}
