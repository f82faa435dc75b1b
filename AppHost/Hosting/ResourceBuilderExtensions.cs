namespace AiStreaming.AppHost.Hosting;

/// <summary>
/// <c>AddRedis</c>, <c>AddPostgres</c>, <c>AddDatabase</c>, <c>AddProject</c> and the <c>WithXxx</c>/<c>WaitFor</c> methods,
/// with Aspire's names and meanings.
/// </summary>
public static class ResourceBuilderExtensions
{
    /// <summary>Adds a Redis server (Debian's <c>redis-server</c>, no persistence) on a free loopback port, or on <paramref name="port"/>.</summary>
    public static IResourceBuilder<RedisResource> AddRedis(this IDistributedApplicationBuilder builder, string name, int? port = null) =>
        builder.AddResource(new RedisResource(name) { RequestedPort = port });

    /// <summary>Adds a PostgreSQL server (Debian's binaries, user <c>postgres</c>, generated password) on a free loopback port, or on <paramref name="port"/>.</summary>
    public static IResourceBuilder<PostgresServerResource> AddPostgres(this IDistributedApplicationBuilder builder, string name, int? port = null) =>
        builder.AddResource(new PostgresServerResource(name) { RequestedPort = port });

    /// <summary>Adds a database to a PostgreSQL server; it is created when the server first becomes healthy.</summary>
    /// <param name="builder">The server.</param>
    /// <param name="name">The resource name (and connection string name).</param>
    /// <param name="databaseName">The database's name inside PostgreSQL; defaults to <paramref name="name"/>.</param>
    public static IResourceBuilder<PostgresDatabaseResource> AddDatabase(
        this IResourceBuilder<PostgresServerResource> builder, string name, string? databaseName = null)
    {
        databaseName ??= name;
        if (databaseName.Length > 63 || !databaseName.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        {
            throw new ArgumentException($"Database name '{databaseName}' must be at most 63 letters, digits, '_' or '-'.", nameof(databaseName));
        }
        var database = new PostgresDatabaseResource(name, databaseName, builder.Resource);
        var result = builder.ApplicationBuilder.AddResource(database);
        builder.Resource.AddDatabase(database);
        return result;
    }

    /// <summary>Adds a .NET project of this repository, launched from its build output.</summary>
    /// <param name="builder">The application builder.</param>
    /// <param name="name">The resource name (and service discovery name).</param>
    /// <param name="projectPath">The <c>.csproj</c>, absolute or relative to the AppHost project folder (<c>"../Api/Api.csproj"</c>).</param>
    public static IResourceBuilder<ProjectResource> AddProject(this IDistributedApplicationBuilder builder, string name, string projectPath)
    {
        var fullPath = Path.GetFullPath(projectPath, builder.AppHostDirectory);
        return builder.AddResource(new ProjectResource(name, fullPath));
    }

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
    /// Gives <paramref name="builder"/>'s processes the address of every replica of <paramref name="source"/> in .NET service
    /// discovery's form, <c>services__{name}__http__{replica}=http://127.0.0.1:{port}</c>.
    /// </summary>
    public static IResourceBuilder<T> WithReference<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResourceWithServiceDiscovery> source)
        where T : IResourceWithEnvironment
    {
        var target = source.Resource as ProjectResource
            ?? throw new NotSupportedException($"Service discovery is supported for projects, not {source.Resource}.");
        return builder.AddReference(target, context =>
        {
            var ports = target.Ports ?? throw RedisResource.NotBuilt(target.Name);
            for (var i = 0; i < ports.Length; i++)
            {
                context.EnvironmentVariables[$"services__{target.Name}__http__{i}"] = $"http://127.0.0.1:{ports[i]}";
            }
            return Task.CompletedTask;
        });
    }

    /// <summary>Starts <paramref name="builder"/>'s resource only once every replica of <paramref name="dependency"/> is healthy.</summary>
    public static IResourceBuilder<T> WaitFor<T>(this IResourceBuilder<T> builder, IResourceBuilder<IResource> dependency)
        where T : IResourceWithWaitSupport
    {
        if (ReferenceEquals(builder.Resource, dependency.Resource))
        {
            throw new ArgumentException($"Resource '{builder.Resource.Name}' cannot wait for itself.", nameof(dependency));
        }
        var list = AsResource(builder.Resource).WaitForList;
        if (!list.Contains(dependency.Resource))
        {
            list.Add(dependency.Resource);
        }
        return builder;
    }

    /// <summary>Sets an environment variable on every replica; it overrides what the AppHost sets (e.g. <c>ASPNETCORE_ENVIRONMENT</c>).</summary>
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

    /// <summary>Sets an environment variable whose value is computed when each replica starts.</summary>
    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, string name, Func<string?> value)
        where T : IResourceWithEnvironment =>
        builder.WithEnvironment(context =>
        {
            if (value() is { } v)
            {
                context.EnvironmentVariables[name] = v;
            }
        });

    /// <summary>Changes a replica's environment just before it starts (runs after the AppHost's own variables and references).</summary>
    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, Action<EnvironmentCallbackContext> callback)
        where T : IResourceWithEnvironment
    {
        AsResource(builder.Resource).EnvironmentCallbacks.Add(context =>
        {
            callback(context);
            return Task.CompletedTask;
        });
        return builder;
    }

    /// <summary>Changes a replica's environment just before it starts, asynchronously.</summary>
    public static IResourceBuilder<T> WithEnvironment<T>(this IResourceBuilder<T> builder, Func<EnvironmentCallbackContext, Task> callback)
        where T : IResourceWithEnvironment
    {
        AsResource(builder.Resource).EnvironmentCallbacks.Add(callback);
        return builder;
    }

    /// <summary>Appends command-line arguments (to <c>redis-server</c>, <c>postgres</c>, or the project's <c>Main</c>).</summary>
    public static IResourceBuilder<T> WithArgs<T>(this IResourceBuilder<T> builder, params string[] args) where T : IResourceWithArgs
    {
        AsResource(builder.Resource).ExtraArgs.AddRange(args);
        return builder;
    }

    /// <summary>Runs <paramref name="replicas"/> processes of the project, each on its own port; references list them all.</summary>
    public static IResourceBuilder<ProjectResource> WithReplicas(this IResourceBuilder<ProjectResource> builder, int replicas)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(replicas, 1);
        builder.Resource.Replicas = replicas;
        return builder;
    }

    /// <summary>Marks the project as the one people open: its URL is printed when the application has started.</summary>
    public static IResourceBuilder<ProjectResource> WithExternalHttpEndpoints(this IResourceBuilder<ProjectResource> builder)
    {
        builder.Resource.IsExternal = true;
        return builder;
    }

    /// <summary>Changes the path polled for health (default <c>/health</c>); healthy means status 200.</summary>
    public static IResourceBuilder<ProjectResource> WithHttpHealthCheck(this IResourceBuilder<ProjectResource> builder, string path)
    {
        builder.Resource.HealthCheckPath = path.StartsWith('/') ? path : "/" + path;
        return builder;
    }

    private static IResourceBuilder<T> AddReference<T>(this IResourceBuilder<T> builder, IResource source, Func<EnvironmentCallbackContext, Task> callback)
        where T : IResource
    {
        var resource = AsResource(builder.Resource);
        if (!resource.ReferenceList.Contains(source))
        {
            resource.ReferenceList.Add(source);
        }
        resource.EnvironmentCallbacks.Add(callback);
        return builder;
    }

    private static Resource AsResource(IResource resource) =>
        resource as Resource ?? throw new NotSupportedException($"{resource.GetType().Name} does not derive from {nameof(Resource)}.");
}
