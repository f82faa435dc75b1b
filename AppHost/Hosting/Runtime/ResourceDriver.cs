namespace AiStreaming.AppHost.Hosting.Runtime;

/// <summary>What the orchestrator knows about the application as a whole, for the drivers.</summary>
internal sealed class HostContext(DistributedApplicationOptions options, string dataRoot)
{
    public DistributedApplicationOptions Options { get; } = options;

    /// <summary>Absolute path of the data root.</summary>
    public string DataRoot { get; } = dataRoot;

    /// <summary>The OTLP endpoint children export to, or null for none.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary><c>OTEL_EXPORTER_OTLP_PROTOCOL</c> for the dashboard's endpoint: <c>grpc</c> or <c>http/protobuf</c>.</summary>
    public string? OtlpProtocol { get; set; }

    /// <summary><c>OTEL_EXPORTER_OTLP_HEADERS</c> for the dashboard's endpoint: its <c>x-otlp-api-key</c>.</summary>
    public string? OtlpHeaders { get; set; }

    /// <summary>True when <see cref="OtlpEndpoint"/> came from the AppHost's own environment (then the other OTEL_EXPORTER_* variables are inherited as they are).</summary>
    public bool OtlpFromEnvironment { get; set; }

    /// <summary>The build configuration projects are launched from: <see cref="DistributedApplicationOptions.ProjectConfiguration"/>, else the AppHost's own.</summary>
    public string ProjectConfiguration => Options.ProjectConfiguration ?? AppHostMetadata.Configuration;
}

/// <summary>
/// How one kind of resource is prepared, launched and health-checked; made by the resource's <see cref="ResourceLifecycleAnnotation"/>.
/// The orchestrator owns the lifecycle (start order, retries, stop, logs); a driver only knows its program.
/// </summary>
internal abstract class ResourceDriver(HostContext host)
{
    protected HostContext Host { get; } = host;

    /// <summary>The kind shown on the dashboard.</summary>
    public abstract string Kind { get; }

    /// <summary>False for resources without a process of their own (a database, a resource given by connection string).</summary>
    public virtual bool HasProcess => true;

    /// <summary>How many launches a start may take when the process exits before it is healthy (a server restarted right after a
    /// kill can find its port or shared memory still held for a moment).</summary>
    public virtual int StartAttempts => 1;

    /// <summary>The signal for a graceful stop.</summary>
    public virtual int StopSignal => Posix.SIGTERM;

    /// <summary>The replica's address as shown and returned for a replica id.</summary>
    public virtual Uri GetEndpoint(ReplicaRuntime replica) => new($"tcp://127.0.0.1:{replica.Port}");

    /// <summary>What is missing to run this resource, as full sentences naming the fix.</summary>
    public virtual IEnumerable<string> CheckPrerequisites() => [];

    /// <summary>Once all runtimes exist: lets a driver follow another resource (a database its server).</summary>
    public virtual void Initialize(ResourceRuntime self, Func<IResource, ResourceRuntime> runtimeOf)
    {
    }

    /// <summary>Before every launch of a replica, serialised per resource (e.g. <c>initdb</c> the first time).</summary>
    public virtual Task PrepareAsync(ResourceRuntime resource, Action<string> log, CancellationToken cancellationToken) => Task.CompletedTask;

    public abstract Task<ProcessSpec> CreateProcessSpecAsync(ReplicaRuntime replica, CancellationToken cancellationToken);

    /// <summary>One health probe; false (or an exception) means not yet.</summary>
    public abstract Task<bool> IsHealthyAsync(ReplicaRuntime replica, CancellationToken cancellationToken);

    /// <summary>After the first passing probe, before the replica is declared healthy (e.g. create databases).</summary>
    public virtual Task OnHealthyAsync(ReplicaRuntime replica, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>When every replica of the resource is healthy at application start, before dependants start (e.g. form a Redis Cluster).</summary>
    public virtual Task OnResourceHealthyAsync(ResourceRuntime resource, Action<string> log, CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>A resource without a process: anything given by connection string, or a server nothing needs.</summary>
internal sealed class VirtualDriver(HostContext host, string kind, Func<ReplicaRuntime, Uri> endpoint) : ResourceDriver(host)
{
    public override string Kind => kind;

    public override bool HasProcess => false;

    public override Uri GetEndpoint(ReplicaRuntime replica) => endpoint(replica);

    public override Task<ProcessSpec> CreateProcessSpecAsync(ReplicaRuntime replica, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public override Task<bool> IsHealthyAsync(ReplicaRuntime replica, CancellationToken cancellationToken) => Task.FromResult(true);
}
