using AiStreaming.AppHost.Hosting.Runtime;

namespace AiStreaming.AppHost.Hosting;

/// <summary>
/// One replica's state as the AppHost sees it, as Aspire's <c>CustomResourceSnapshot</c> (reduced to what tests and the
/// dashboard read).
/// </summary>
/// <param name="State">Lifecycle state.</param>
/// <param name="ProcessId">The process id while it runs, else null.</param>
/// <param name="ExitCode">The last launch's exit code once it exited, else null.</param>
/// <param name="Restarts">Launches after the first.</param>
/// <param name="Endpoint">The replica's own address (<c>http://127.0.0.1:{port}</c>, <c>tcp://…</c>), not the balancer's.</param>
public sealed record ResourceSnapshot(ResourceState State, int? ProcessId, int? ExitCode, int Restarts, Uri Endpoint);

/// <summary>A replica's id and snapshot, as Aspire's <c>ResourceEvent</c>.</summary>
/// <param name="Resource">The resource.</param>
/// <param name="ResourceId">The replica's id, <c>{name}-{index}</c> (<c>streamer-1</c>).</param>
/// <param name="Snapshot">Its state now.</param>
public sealed record ResourceEvent(IResource Resource, string ResourceId, ResourceSnapshot Snapshot);

/// <summary>
/// Resource states, shaped like Aspire's <c>ResourceNotificationService</c>. A resource id is a replica's
/// (<c>streamer-1</c>) or a resource's name (<c>api</c>: every replica of it).
/// </summary>
public sealed class ResourceNotificationService
{
    private readonly Orchestrator _orchestrator;

    internal ResourceNotificationService(Orchestrator orchestrator) => _orchestrator = orchestrator;

    /// <summary>Waits until every replica <paramref name="resourceId"/> names is <see cref="ResourceState.Healthy"/>.</summary>
    /// <exception cref="KeyNotFoundException">No resource or replica has that id.</exception>
    public Task WaitForResourceHealthyAsync(string resourceId, CancellationToken cancellationToken = default) =>
        WaitForResourceAsync(resourceId, ResourceState.Healthy, cancellationToken);

    /// <summary>Waits until every replica <paramref name="resourceId"/> names is in <paramref name="targetState"/> (e.g. <see cref="ResourceState.Exited"/>).</summary>
    /// <exception cref="KeyNotFoundException">No resource or replica has that id.</exception>
    public Task WaitForResourceAsync(string resourceId, ResourceState targetState, CancellationToken cancellationToken = default) =>
        Task.WhenAll(_orchestrator.Resolve(resourceId).Select(r => r.WaitUntilAsync(x => x.State == targetState, cancellationToken)));

    /// <summary>The state of the replica <paramref name="resourceId"/> names (a replica id, or a resource of one replica).</summary>
    /// <returns>False when no single replica has that id.</returns>
    public bool TryGetCurrentState(string resourceId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ResourceEvent? resourceEvent)
    {
        resourceEvent = null;
        try
        {
            if (_orchestrator.Resolve(resourceId) is [var replica])
            {
                resourceEvent = new ResourceEvent(replica.Owner.Resource, replica.DisplayName, new ResourceSnapshot(replica.State, replica.ProcessId,
                    replica.ExitCode, Math.Max(0, replica.Launches - 1), replica.Owner.Driver.GetEndpoint(replica)));
            }
        }
        catch (KeyNotFoundException)
        {
        }
        return resourceEvent is not null;
    }
}

/// <summary>The command names <see cref="ResourceCommandService"/> knows, Aspire's (<c>KnownResourceCommands</c>) plus our <c>resource-kill</c>.</summary>
public static class KnownResourceCommands
{
    /// <summary>Starts a stopped, killed or exited replica on the same port (endpoints and connection strings stay valid) and waits until it is healthy. Redis comes back empty.</summary>
    public const string StartCommand = "resource-start";

    /// <summary>Stops gracefully (SIGTERM, SIGINT for PostgreSQL; SIGKILL after the stop timeout) and waits for the exit.</summary>
    public const string StopCommand = "resource-stop";

    /// <summary>Stop, then start.</summary>
    public const string RestartCommand = "resource-restart";

    /// <summary>SIGKILL (no cleanup, like a crash) and wait for the exit; ours, Aspire has none.</summary>
    public const string KillCommand = "resource-kill";
}

/// <summary>The outcome of a command, as Aspire's <c>ExecuteCommandResult</c>.</summary>
/// <param name="Success">True when the command completed on every replica.</param>
/// <param name="ErrorMessage">Why not, else null.</param>
public sealed record ExecuteCommandResult(bool Success, string? ErrorMessage = null);

/// <summary>
/// Runs a command on a resource's replicas, shaped like Aspire's <c>ResourceCommandService</c>:
/// <c>ExecuteCommandAsync("streamer-1", KnownResourceCommands.KillCommand)</c> for one replica, <c>("api", …)</c> for all of them.
/// </summary>
public sealed class ResourceCommandService
{
    private readonly Orchestrator _orchestrator;

    internal ResourceCommandService(Orchestrator orchestrator) => _orchestrator = orchestrator;

    /// <summary>Runs <paramref name="commandName"/> (<see cref="KnownResourceCommands"/>) on every replica <paramref name="resourceId"/> names, in parallel.</summary>
    public async Task<ExecuteCommandResult> ExecuteCommandAsync(string resourceId, string commandName, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<ReplicaRuntime> replicas;
        try
        {
            replicas = _orchestrator.Resolve(resourceId);
        }
        catch (KeyNotFoundException ex)
        {
            return new ExecuteCommandResult(false, ex.Message);
        }
        var lifecycle = _orchestrator.Lifecycle;
        Func<ReplicaRuntime, Task>? command = commandName switch
        {
            KnownResourceCommands.StartCommand => r => lifecycle.StartAsync(r, cancellationToken),
            KnownResourceCommands.StopCommand => r => lifecycle.StopAsync(r, kill: false).WaitAsync(cancellationToken),
            KnownResourceCommands.KillCommand => r => lifecycle.StopAsync(r, kill: true).WaitAsync(cancellationToken),
            KnownResourceCommands.RestartCommand => async r =>
            {
                await lifecycle.StopAsync(r, kill: false).WaitAsync(cancellationToken).ConfigureAwait(false);
                await lifecycle.StartAsync(r, cancellationToken).ConfigureAwait(false);
            },
            _ => null,
        };
        if (command is null)
        {
            return new ExecuteCommandResult(false, $"Unknown command '{commandName}'.");
        }
        try
        {
            await Task.WhenAll(replicas.Select(command)).ConfigureAwait(false);
            return new ExecuteCommandResult(true);
        }
        catch (DistributedApplicationException ex)
        {
            return new ExecuteCommandResult(false, ex.Message);
        }
    }
}

/// <summary>Resource output, as Aspire's <c>ResourceLoggerService</c> keeps it (reduced to the last lines).</summary>
public sealed class ResourceLoggerService
{
    private readonly Orchestrator _orchestrator;

    internal ResourceLoggerService(Orchestrator orchestrator) => _orchestrator = orchestrator;

    /// <summary>
    /// The recent output lines (stdout and stderr, oldest first, at most 500 per replica, across restarts) of every replica
    /// <paramref name="resourceId"/> names, replica after replica.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No resource or replica has that id.</exception>
    public IReadOnlyList<string> GetLogs(string resourceId) => [.. _orchestrator.Resolve(resourceId).SelectMany(r => r.GetLogs())];
}
