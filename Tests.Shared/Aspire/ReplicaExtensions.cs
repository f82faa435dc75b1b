using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;

namespace AiStreaming.Tests.Aspire;

/// <summary>
/// Finding, addressing, killing and restarting one replica of a running application, through Aspire's resource
/// snapshots and commands. Aspire launches a project replica as <c>dotnet run --no-build</c>; the snapshot's
/// <c>executable.pid</c> is that launcher, and the server is its child: killing the launcher would orphan the server, so
/// <see cref="KillAsync"/> kills the server.
/// </summary>
public static class ReplicaExtensions
{
    /// <summary>The replica ids of <paramref name="resource"/> (<c>streamer-abcd1234</c>, …), in a stable order; a resource
    /// without replicas has one.</summary>
    public static async Task<IReadOnlyList<string>> ReplicaIdsAsync(this DistributedApplication app, string resource, CancellationToken cancellationToken = default)
    {
        var model = app.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == resource);
        var expected = model.Annotations.OfType<ReplicaAnnotation>().LastOrDefault()?.Replicas ?? 1;
        var ids = new SortedSet<string>(StringComparer.Ordinal);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(30));
        // The watch first replays the current state of every resource.
        await foreach (var resourceEvent in app.ResourceNotifications.WatchAsync(cts.Token))
        {
            if (resourceEvent.Resource.Name == resource && ids.Add(resourceEvent.ResourceId) && ids.Count == expected)
            {
                break;
            }
        }
        return [.. ids];
    }

    /// <summary>The current snapshot of one replica.</summary>
    /// <exception cref="InvalidOperationException">No resource has that id.</exception>
    public static CustomResourceSnapshot Snapshot(this DistributedApplication app, string replicaId) =>
        app.ResourceNotifications.TryGetCurrentState(replicaId, out var resourceEvent)
            ? resourceEvent.Snapshot
            : throw new InvalidOperationException($"No resource {replicaId}.");

    /// <summary>
    /// The replica's own address, bypassing Aspire's proxy: the first URL of its <c>ASPNETCORE_URLS</c>
    /// (<c>http://localhost:{port}</c>).
    /// </summary>
    public static Uri ReplicaUri(this DistributedApplication app, string replicaId)
    {
        var urls = app.Snapshot(replicaId).EnvironmentVariables.FirstOrDefault(e => e.Name == "ASPNETCORE_URLS")?.Value
            ?? throw new InvalidOperationException($"{replicaId} has no ASPNETCORE_URLS.");
        return new Uri(urls.Split(';')[0].Replace("localhost", "127.0.0.1", StringComparison.Ordinal));
    }

    /// <summary>
    /// The process id of the server itself while it runs: the launcher's child for a project (<c>dotnet run</c>), the
    /// process DCP started for an executable. Null when it is not running.
    /// </summary>
    public static int? ServerProcessId(this DistributedApplication app, string replicaId)
    {
        if (!app.ResourceNotifications.TryGetCurrentState(replicaId, out var resourceEvent))
        {
            throw new InvalidOperationException($"No resource {replicaId}.");
        }
        var snapshot = resourceEvent.Snapshot;
        if (snapshot.State?.Text != KnownResourceStates.Running
            || snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value is not { } value
            || !int.TryParse(value.ToString(), out var launcher))
        {
            return null;
        }
        // Only a project has a launcher in between: PostgreSQL's own children are its backends, not its server.
        return resourceEvent.Resource is ProjectResource ? ChildrenOf(launcher).FirstOrDefault(launcher) : launcher;
    }

    /// <summary>Kills the replica's server with SIGKILL, as a crash would, and waits until Aspire sees it stopped.</summary>
    /// <exception cref="InvalidOperationException">The replica is not running.</exception>
    public static async Task KillAsync(this DistributedApplication app, string replicaId, CancellationToken cancellationToken = default)
    {
        var pid = app.ServerProcessId(replicaId) ?? throw new InvalidOperationException($"{replicaId} is not running.");
        Process.GetProcessById(pid).Kill();
        await app.WaitForReplicaAsync(replicaId, s => s.State?.Text is { } state && KnownResourceStates.TerminalStates.Contains(state), cancellationToken);
    }

    /// <summary>Running, and healthy by every health check it has.</summary>
    public static bool IsHealthy(CustomResourceSnapshot snapshot) =>
        snapshot.State?.Text == KnownResourceStates.Running && snapshot.HealthStatus == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy;

    /// <summary>Waits until one replica's snapshot satisfies <paramref name="predicate"/> (checked on its current state first).</summary>
    public static async Task<CustomResourceSnapshot> WaitForReplicaAsync(
        this DistributedApplication app, string replicaId, Func<CustomResourceSnapshot, bool> predicate, CancellationToken cancellationToken = default)
    {
        if (app.ResourceNotifications.TryGetCurrentState(replicaId, out var current) && predicate(current.Snapshot))
        {
            return current.Snapshot;
        }
        await foreach (var resourceEvent in app.ResourceNotifications.WatchAsync(cancellationToken))
        {
            if (resourceEvent.ResourceId == replicaId && predicate(resourceEvent.Snapshot))
            {
                return resourceEvent.Snapshot;
            }
        }
        throw new OperationCanceledException(cancellationToken);
    }

    /// <summary>Runs a resource command (<see cref="KnownResourceCommands"/>) and fails when it does.</summary>
    /// <exception cref="InvalidOperationException">The command failed.</exception>
    public static async Task CommandAsync(this DistributedApplication app, string resourceId, string command, CancellationToken cancellationToken = default)
    {
        var result = await app.ResourceCommands.ExecuteCommandAsync(resourceId, command, cancellationToken);
        if (!result.Success)
        {
            throw new InvalidOperationException($"{command} on {resourceId} failed: {result.Message}");
        }
    }

    /// <summary>
    /// Waits until a project replica's own address answers <c>/health</c> with 200 (at most a minute). A resource
    /// snapshot can say Running and Healthy before the process listens (after a restart it still carries the health of
    /// the process before). Nothing to wait for when the replica has no <c>ASPNETCORE_URLS</c> (not a project).
    /// </summary>
    /// <exception cref="OperationCanceledException">It did not answer within a minute, or <paramref name="cancellationToken"/> fired.</exception>
    public static async Task WaitUntilAnsweringAsync(this DistributedApplication app, string replicaId, CancellationToken cancellationToken = default)
    {
        if (app.Snapshot(replicaId).EnvironmentVariables.All(e => e.Name != "ASPNETCORE_URLS"))
        {
            return;
        }
        using var http = new HttpClient { BaseAddress = app.ReplicaUri(replicaId), Timeout = TimeSpan.FromSeconds(5) };
        using var patience = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        patience.CancelAfter(TimeSpan.FromMinutes(1));
        while (true)
        {
            try
            {
                using var answer = await http.GetAsync("/health", patience.Token);
                if (answer.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!patience.IsCancellationRequested)
            {
                // One slow answer: ask again.
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100), patience.Token);
        }
    }

    /// <summary>
    /// Starts a stopped or killed replica again and waits until it is healthy: its snapshot says so and, for a project,
    /// its own address answers <c>/health</c> with 200 (a snapshot can say Running before the new health check ran, with
    /// the health status of the process before).
    /// </summary>
    public static async Task StartAsync(this DistributedApplication app, string replicaId, CancellationToken cancellationToken = default)
    {
        await app.CommandAsync(replicaId, KnownResourceCommands.StartCommand, cancellationToken);
        // ResourceNotificationService's WaitFor* methods take a resource name: a replica is awaited by its own snapshot.
        await app.WaitForReplicaAsync(replicaId, IsHealthy, cancellationToken);
        await app.WaitUntilAnsweringAsync(replicaId, cancellationToken);
    }

    /// <summary>The log lines a resource (or one replica) has written so far, oldest first.</summary>
    public static async Task<IReadOnlyList<string>> GetLogsAsync(this DistributedApplication app, string resourceId)
    {
        var lines = new List<string>();
        await foreach (var batch in app.Services.GetRequiredService<ResourceLoggerService>().GetAllAsync(resourceId))
        {
            lines.AddRange(batch.Select(l => l.Content));
        }
        return lines;
    }

    private static IEnumerable<int> ChildrenOf(int pid)
    {
        var tasks = $"/proc/{pid}/task";
        if (!Directory.Exists(tasks))
        {
            return [];
        }
        return Directory.EnumerateDirectories(tasks)
            .SelectMany(task => File.Exists(Path.Combine(task, "children")) ? File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries) : [])
            .Select(int.Parse);
    }
}
