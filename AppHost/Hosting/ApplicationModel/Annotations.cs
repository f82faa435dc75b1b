using AiStreaming.AppHost.Hosting.Runtime;

namespace AiStreaming.AppHost.Hosting;

/// <summary>Something recorded about a resource; same name and meaning as Aspire's <c>IResourceAnnotation</c>.</summary>
public interface IResourceAnnotation;

/// <summary>A resource's annotations in the order they were added.</summary>
public sealed class ResourceAnnotationCollection : List<IResourceAnnotation>;

/// <summary>The resource waits until <see cref="Resource"/> is healthy before it starts (<c>WaitFor</c>), as Aspire's <c>WaitAnnotation</c>.</summary>
/// <param name="Resource">The resource waited for; every one of its replicas must be healthy.</param>
public sealed record WaitAnnotation(IResource Resource) : IResourceAnnotation;

/// <summary>
/// The resource uses <see cref="Resource"/> (<c>WithReference</c>: <c>"Reference"</c>; a database's server: <c>"Parent"</c>), as
/// Aspire's <c>ResourceRelationshipAnnotation</c>. Stops run before the resources used.
/// </summary>
/// <param name="Resource">The resource used.</param>
/// <param name="Type"><c>"Reference"</c> or <c>"Parent"</c>.</param>
public sealed record ResourceRelationshipAnnotation(IResource Resource, string Type) : IResourceAnnotation;

/// <summary>Changes a replica's environment just before it starts, as Aspire's <c>EnvironmentCallbackAnnotation</c>.</summary>
/// <param name="Callback">Runs once per launch, in the order the annotations were added.</param>
public sealed record EnvironmentCallbackAnnotation(Func<EnvironmentCallbackContext, Task> Callback) : IResourceAnnotation;

/// <summary>How many processes run the resource (<c>WithReplicas</c>), as Aspire's <c>ReplicaAnnotation</c>.</summary>
/// <param name="Replicas">At least 1.</param>
public sealed record ReplicaAnnotation(int Replicas) : IResourceAnnotation;

/// <summary>The resource's load balancer pins each client to one replica with an affinity cookie (<c>WithStickySessions</c>).</summary>
public sealed record StickySessionsAnnotation : IResourceAnnotation;

/// <summary>
/// A network endpoint of the resource, as Aspire's <c>EndpointAnnotation</c>. Each replica listens on its own
/// <see cref="TargetPorts"/> entry; consumers use <see cref="Port"/>, which for a resource of several replicas is the
/// AppHost's load balancer in front of them (Aspire's proxy), else the only replica's port.
/// </summary>
/// <param name="scheme"><c>http</c> or <c>tcp</c>.</param>
public sealed class EndpointAnnotation(string scheme) : IResourceAnnotation
{
    /// <summary>The endpoint's name and scheme: <c>http</c> (announced as <c>services__{name}__http__0</c>) or <c>tcp</c>.</summary>
    public string Scheme { get; } = scheme;

    /// <summary>A fixed port asked for by <c>AddXxx(port: …)</c>, else null for a free loopback port.</summary>
    public int? RequestedPort { get; init; }

    /// <summary>Shown as the application's URL at start (<c>WithExternalHttpEndpoints</c>).</summary>
    public bool IsExternal { get; set; }

    /// <summary>The port consumers use, allocated when the application is built.</summary>
    public int? Port { get; internal set; }

    /// <summary>One port per replica, allocated when the application is built.</summary>
    public IReadOnlyList<int> TargetPorts { get; internal set; } = [];

    /// <summary>True when a load balancer listens on <see cref="Port"/> in front of the replicas.</summary>
    public bool IsProxied => TargetPorts.Count > 1 && Scheme == "http";

    /// <summary><c>{scheme}://127.0.0.1:{port}</c>.</summary>
    /// <exception cref="InvalidOperationException">The application has not been built yet.</exception>
    public Uri Url => new($"{Scheme}://127.0.0.1:{Port ?? throw NotAllocated()}");

    internal InvalidOperationException NotAllocated() =>
        new("The endpoint has no port yet: build the application first (builder.Build() or BuildAsync()).");
}

/// <summary>What an environment callback sees while a replica's environment is being assembled, just before it starts.</summary>
/// <param name="resource">The resource being started.</param>
/// <param name="replica">The replica index, from 0.</param>
/// <param name="environmentVariables">The variables so far; add, replace or remove entries.</param>
public sealed class EnvironmentCallbackContext(IResource resource, int replica, IDictionary<string, string> environmentVariables)
{
    /// <summary>The resource being started.</summary>
    public IResource Resource { get; } = resource;

    /// <summary>The replica index, from 0.</summary>
    public int Replica { get; } = replica;

    /// <summary>The environment the replica will get, on top of the AppHost's own (inherited) environment.</summary>
    public IDictionary<string, string> EnvironmentVariables { get; } = environmentVariables;
}

/// <summary>How a resource kind is run: set by its <c>AddXxx</c> method, read when the application is built.</summary>
/// <param name="CreateDriver">Makes the resource's driver (ports already allocated); may allocate passwords.</param>
internal sealed record ResourceLifecycleAnnotation(Func<LifecycleContext, ResourceDriver> CreateDriver) : IResourceAnnotation;

/// <summary>What a lifecycle sees when the application is built.</summary>
internal sealed record LifecycleContext(HostContext Host, ResourceCollection Resources, HttpClient Http);

/// <summary>Reading annotations.</summary>
public static class ResourceAnnotationExtensions
{
    /// <summary>The resources <paramref name="resource"/> waits for (<see cref="WaitAnnotation"/>).</summary>
    public static IEnumerable<IResource> WaitsFor(this IResource resource) =>
        resource.Annotations.OfType<WaitAnnotation>().Select(a => a.Resource).Distinct();

    /// <summary>The resources <paramref name="resource"/> uses (<see cref="ResourceRelationshipAnnotation"/>).</summary>
    public static IEnumerable<IResource> References(this IResource resource) =>
        resource.Annotations.OfType<ResourceRelationshipAnnotation>().Select(a => a.Resource).Distinct();

    /// <summary>How many replicas run <paramref name="resource"/> (<see cref="ReplicaAnnotation"/>; 1 when absent).</summary>
    public static int ReplicaCount(this IResource resource) =>
        resource.Annotations.OfType<ReplicaAnnotation>().LastOrDefault()?.Replicas ?? 1;

    /// <summary>The resource's endpoint, or null when it has none.</summary>
    public static EndpointAnnotation? Endpoint(this IResource resource) =>
        resource.Annotations.OfType<EndpointAnnotation>().FirstOrDefault();
}
