using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace AiStreaming.AppHost.Hosting.Runtime;

/// <summary>
/// Starts resources in <c>WaitFor</c> order (independent ones in parallel), health-checks them, restarts single replicas on
/// their own port, and stops everything in reverse dependency order: graceful signal, then SIGKILL after the stop timeout.
/// </summary>
internal sealed class Orchestrator
{
    private const int FailureLogLines = 30;
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(200);

    private readonly HostContext _host;
    private readonly Dictionary<IResource, ResourceRuntime> _byResource;
    private readonly Dictionary<ResourceRuntime, SemaphoreSlim> _prepareLocks;

    public Orchestrator(HostContext host, IReadOnlyList<ResourceRuntime> runtimes)
    {
        _host = host;
        _byResource = runtimes.ToDictionary(r => (IResource)r.Resource);
        _prepareLocks = runtimes.ToDictionary(r => r, _ => new SemaphoreSlim(1, 1));
        StartOrder = Sort(runtimes, r => r.StartDependencies, failOnCycle: true);
        StopOrder = [.. Enumerable.Reverse(Sort(runtimes, r => r.AllDependencies, failOnCycle: false))];
        foreach (var database in runtimes.Where(r => r.Resource is PostgresDatabaseResource { ExternalConnectionString: null }))
        {
            FollowServer(database, Runtime(((PostgresDatabaseResource)database.Resource).Parent));
        }
    }

    /// <summary>A database is as available as its server: healthy with it, down (stopped, killed, exited) with it, waiting while it starts.</summary>
    private static void FollowServer(ResourceRuntime database, ResourceRuntime server)
    {
        if (!server.Driver.HasProcess)
        {
            return;
        }
        server.ReplicaStateChanged += replica =>
        {
            var mirror = database.Replicas[0];
            var state = replica.State switch
            {
                ResourceState.Starting or ResourceState.Running => ResourceState.Waiting,
                var s => s,
            };
            if (mirror.State != ResourceState.NotStarted && mirror.State != state)
            {
                mirror.SetState(state);
            }
        };
    }

    /// <summary>Resources in start order: every resource after those it waits for.</summary>
    public IReadOnlyList<ResourceRuntime> StartOrder { get; }

    /// <summary>Resources in stop order: every resource before those it uses.</summary>
    public IReadOnlyList<ResourceRuntime> StopOrder { get; }

    public HostContext Host => _host;

    public ResourceRuntime Get(string name) =>
        _byResource.Values.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new KeyNotFoundException($"No resource named '{name}'. Resources: {string.Join(", ", StartOrder.Select(r => r.Name))}.");

    /// <summary>Everything missing to run the resources, as sentences; empty when all is there.</summary>
    public IReadOnlyList<string> CheckPrerequisites()
    {
        var problems = new List<string>();
        if (StartOrder.Any(r => r.Driver.HasProcess) && HostTools.FindOnPath("setpriv") is null)
        {
            problems.Add("setpriv was not found (Debian package 'util-linux'); it ties every child process to the AppHost's life. Install it: sudo apt-get install -y util-linux");
        }
        problems.AddRange(StartOrder.SelectMany(r => r.Driver.CheckPrerequisites()).Distinct());
        return problems;
    }

    /// <summary>Starts every resource; returns when all are healthy.</summary>
    /// <exception cref="DistributedApplicationException">A resource failed; the message names it and quotes its last output.</exception>
    public async Task StartAllAsync(CancellationToken cancellationToken)
    {
        var tasks = new Dictionary<ResourceRuntime, Task>();
        foreach (var runtime in StartOrder)
        {
            tasks[runtime] = StartWithDependenciesAsync(runtime, tasks, cancellationToken);
        }
        try
        {
            await Task.WhenAll(tasks.Values).ConfigureAwait(false);
        }
        catch when (!cancellationToken.IsCancellationRequested)
        {
            var failures = tasks.Values
                .Where(t => t.IsFaulted)
                .SelectMany(t => t.Exception!.InnerExceptions)
                .Where(e => e is not DependencyFailedException)
                .Distinct()
                .ToList();
            if (failures.Count == 1)
            {
                ExceptionDispatchInfo.Throw(failures[0]);
            }
            throw new DistributedApplicationException(
                string.Join(Environment.NewLine + Environment.NewLine, failures.Select(f => f.Message)), new AggregateException(failures));
        }
    }

    private async Task StartWithDependenciesAsync(ResourceRuntime runtime, Dictionary<ResourceRuntime, Task> started, CancellationToken cancellationToken)
    {
        var dependencies = runtime.StartDependencies.Select(Runtime).ToList();
        if (dependencies.Count > 0)
        {
            foreach (var replica in runtime.Replicas)
            {
                replica.SetState(ResourceState.Waiting);
            }
        }
        foreach (var dependency in dependencies)
        {
            try
            {
                await started[dependency].ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                foreach (var replica in runtime.Replicas)
                {
                    replica.SetState(ResourceState.FailedToStart);
                }
                throw new DependencyFailedException($"Resource '{runtime.Name}' was not started: '{dependency.Name}' failed.", ex);
            }
        }
        await Task.WhenAll(runtime.Replicas.Select(r => StartReplicaAsync(r, cancellationToken))).ConfigureAwait(false);
    }

    /// <summary>Starts one replica on its port (again) and waits until it is healthy; a no-op when it already runs.</summary>
    public async Task StartReplicaAsync(ReplicaRuntime replica, CancellationToken cancellationToken)
    {
        var runtime = replica.Owner;
        var driver = runtime.Driver;
        await replica.Operation.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!driver.HasProcess)
            {
                replica.SetState(ResourceState.Healthy);
                return;
            }
            if (replica.ProcessId is not null)
            {
                return;
            }
            replica.SetState(ResourceState.Starting);
            var stopwatch = Stopwatch.StartNew();
            await PrepareAsync(runtime, replica, cancellationToken).ConfigureAwait(false);
            for (var attempt = 1; ; attempt++)
            {
                var spec = await driver.CreateProcessSpecAsync(replica, cancellationToken).ConfigureAwait(false);
                var launch = await LaunchAsync(replica, spec).ConfigureAwait(false);
                replica.SetState(ResourceState.Running);
                var outcome = await WaitForHealthAsync(replica, launch, cancellationToken).ConfigureAwait(false);
                if (outcome == HealthOutcome.Healthy)
                {
                    await driver.OnHealthyAsync(replica, cancellationToken).ConfigureAwait(false);
                    replica.SetState(ResourceState.Healthy);
                    Log($"{replica.DisplayName} is healthy ({stopwatch.Elapsed.TotalSeconds:0.0} s, pid {launch.ProcessId}, {driver.GetEndpoint(replica).GetLeftPart(UriPartial.Authority)})");
                    return;
                }
                if (outcome == HealthOutcome.TimedOut)
                {
                    throw Failure(replica, $"did not become healthy within {_host.Options.HealthCheckTimeout.TotalSeconds:0} s");
                }
                var exitCode = await launch.Exited.ConfigureAwait(false);
                if (attempt >= driver.StartAttempts)
                {
                    throw Failure(replica, $"exited with code {exitCode} before it was healthy");
                }
                Log($"{replica.DisplayName} exited with code {exitCode} before it was healthy; retrying");
                await Task.Delay(TimeSpan.FromMilliseconds(500 * attempt), cancellationToken).ConfigureAwait(false);
                replica.SetState(ResourceState.Starting);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            if (replica.ProcessId is null)
            {
                replica.SetState(ResourceState.FailedToStart);
            }
            if (ex is DistributedApplicationException)
            {
                throw;
            }
            throw Failure(replica, $"could not be started: {ex.Message}", ex);
        }
        finally
        {
            replica.Operation.Release();
        }
    }

    /// <summary>Stops one replica: the driver's graceful signal, SIGKILL after the stop timeout; or SIGKILL at once. Waits for the exit.</summary>
    public async Task StopReplicaAsync(ReplicaRuntime replica, bool kill)
    {
        await replica.Operation.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!replica.Owner.Driver.HasProcess)
            {
                if (replica.State != ResourceState.NotStarted)
                {
                    replica.SetState(ResourceState.Stopped);
                }
                return;
            }
            if (replica.CurrentLaunch is not { HasExited: false } launch)
            {
                return;
            }
            launch.Intent = kill ? StopIntent.Kill : StopIntent.Stop;
            if (!kill)
            {
                replica.SetState(ResourceState.Stopping);
            }
            Posix.Signal(launch.ProcessId, kill ? Posix.SIGKILL : replica.Owner.Driver.StopSignal);
            if (!kill && await Task.WhenAny(launch.Exited, Task.Delay(_host.Options.StopTimeout)).ConfigureAwait(false) != launch.Exited)
            {
                Log($"{replica.DisplayName} did not stop within {_host.Options.StopTimeout.TotalSeconds:0} s; killing it");
                Posix.Signal(launch.ProcessId, Posix.SIGKILL);
            }
            await launch.Exited.ConfigureAwait(false);
            await DrainOutputAsync(launch).ConfigureAwait(false);
        }
        finally
        {
            replica.Operation.Release();
        }
    }

    /// <summary>Lets the last output lines of an exited process arrive, so logs read right after a stop are complete.
    /// Bounded: children of a killed server (PostgreSQL backends) may hold the pipe a little longer.</summary>
    private static async Task DrainOutputAsync(ProcessLaunch launch)
    {
        if (launch.Process is { } process)
        {
            try
            {
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
            {
            }
        }
    }

    /// <summary>Stops every resource in reverse dependency order (the replicas of one resource together).</summary>
    public async Task StopAllAsync(bool kill = false)
    {
        foreach (var runtime in StopOrder)
        {
            await Task.WhenAll(runtime.Replicas.Select(r => StopReplicaAsync(r, kill))).ConfigureAwait(false);
        }
    }

    /// <summary>SIGKILLs every running process at once, without waiting for stops in progress (a second Ctrl+C).</summary>
    public void KillAllNow()
    {
        foreach (var replica in StartOrder.SelectMany(r => r.Replicas))
        {
            if (replica.CurrentLaunch is { HasExited: false } launch)
            {
                launch.Intent = StopIntent.Kill;
                Posix.Signal(launch.ProcessId, Posix.SIGKILL);
            }
        }
    }

    /// <summary>Releases the process handles of exited launches (call after <see cref="StopAllAsync"/>).</summary>
    public void ReleaseProcesses()
    {
        foreach (var replica in StartOrder.SelectMany(r => r.Replicas))
        {
            if (replica.CurrentLaunch is { HasExited: true, Process: { } process })
            {
                process.Dispose();
            }
        }
    }

    private async Task PrepareAsync(ResourceRuntime runtime, ReplicaRuntime replica, CancellationToken cancellationToken)
    {
        var gate = _prepareLocks[runtime];
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await runtime.Driver.PrepareAsync(runtime, line => OnOutput(replica, line), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<ProcessLaunch> LaunchAsync(ReplicaRuntime replica, ProcessSpec spec)
    {
        var previous = replica.CurrentLaunch?.Process;
        var launch = replica.BeginLaunch();
        previous?.Dispose();
        try
        {
            var process = await ProcessLauncher.StartAsync(spec.ToStartInfo(), p =>
            {
                p.OutputDataReceived += (_, e) =>
                {
                    if (e.Data is { } line)
                    {
                        OnOutput(replica, line);
                    }
                };
                p.ErrorDataReceived += (_, e) =>
                {
                    if (e.Data is { } line)
                    {
                        OnOutput(replica, line);
                    }
                };
                p.Exited += (_, _) => OnExited(replica, launch, p);
            }).ConfigureAwait(false);
            launch.Process = process;
            launch.ProcessId = process.Id;
            return launch;
        }
        catch (Exception ex)
        {
            launch.SetExited(-1);
            throw Failure(replica, $"could not be launched ({spec.FileName}): {ex.Message}", ex);
        }
    }

    private void OnExited(ReplicaRuntime replica, ProcessLaunch launch, Process process)
    {
        int exitCode;
        try
        {
            exitCode = process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            exitCode = -1;
        }
        var unexpected = launch.Intent == StopIntent.None;
        if (replica.RecordExit(launch, exitCode) && unexpected && replica.Owner.Driver.HasProcess)
        {
            var message = $"{replica.DisplayName} exited with code {exitCode}{DescribeSignal(exitCode)}";
            replica.AppendLog($"[apphost] {message}");
            Log(message);
        }
        launch.SetExited(exitCode);
    }

    private async Task<HealthOutcome> WaitForHealthAsync(ReplicaRuntime replica, ProcessLaunch launch, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        while (true)
        {
            if (launch.HasExited)
            {
                return HealthOutcome.Exited;
            }
            using (var probe = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                probe.CancelAfter(ProbeTimeout);
                try
                {
                    if (await replica.Owner.Driver.IsHealthyAsync(replica, probe.Token).ConfigureAwait(false))
                    {
                        return HealthOutcome.Healthy;
                    }
                }
                catch (Exception) when (!cancellationToken.IsCancellationRequested)
                {
                    // Not up yet: refused connection, 503, timeout.
                }
            }
            if (stopwatch.Elapsed > _host.Options.HealthCheckTimeout)
            {
                return HealthOutcome.TimedOut;
            }
            await Task.WhenAny(Task.Delay(ProbeInterval, cancellationToken), launch.Exited).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private void OnOutput(ReplicaRuntime replica, string line)
    {
        replica.AppendLog(line);
        if (_host.Options.ForwardResourceLogsToConsole)
        {
            ConsoleOutput.ResourceLine(replica.Owner.ColorIndex, replica.DisplayName, line);
        }
    }

    private void Log(string message)
    {
        if (_host.Options.ForwardResourceLogsToConsole)
        {
            ConsoleOutput.Detail($"[apphost] {message}");
        }
    }

    private static DistributedApplicationException Failure(ReplicaRuntime replica, string reason, Exception? inner = null)
    {
        var lines = replica.GetLogs(FailureLogLines);
        var message = $"Resource '{replica.DisplayName}' {reason}."
            + (lines.Count == 0
                ? " It wrote no output."
                : $" Its last {lines.Count} output lines:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", lines));
        return inner is null ? new DistributedApplicationException(message) : new DistributedApplicationException(message, inner);
    }

    private static string DescribeSignal(int exitCode) => exitCode switch
    {
        128 + Posix.SIGKILL => " (SIGKILL)",
        128 + Posix.SIGTERM => " (SIGTERM)",
        128 + Posix.SIGINT => " (SIGINT)",
        134 => " (SIGABRT)",
        139 => " (SIGSEGV)",
        _ => "",
    };

    private ResourceRuntime Runtime(IResource resource) =>
        _byResource.TryGetValue(resource, out var runtime)
            ? runtime
            : throw new DistributedApplicationException($"{resource} is referenced but was not added to this application.");

    private List<ResourceRuntime> Sort(IEnumerable<ResourceRuntime> runtimes, Func<ResourceRuntime, IEnumerable<IResource>> edges, bool failOnCycle)
    {
        var order = new List<ResourceRuntime>();
        var done = new HashSet<ResourceRuntime>();
        var visiting = new List<ResourceRuntime>();
        void Visit(ResourceRuntime runtime)
        {
            if (done.Contains(runtime))
            {
                return;
            }
            if (visiting.Contains(runtime))
            {
                if (failOnCycle)
                {
                    throw new DistributedApplicationException(
                        $"WaitFor cycle: {string.Join(" -> ", visiting.SkipWhile(r => r != runtime).Append(runtime).Select(r => r.Name))}.");
                }
                return;
            }
            visiting.Add(runtime);
            foreach (var dependency in edges(runtime))
            {
                Visit(Runtime(dependency));
            }
            visiting.Remove(runtime);
            done.Add(runtime);
            order.Add(runtime);
        }
        foreach (var runtime in runtimes)
        {
            Visit(runtime);
        }
        return order;
    }

    private enum HealthOutcome
    {
        Healthy,
        Exited,
        TimedOut,
    }

    private sealed class DependencyFailedException(string message, Exception inner) : DistributedApplicationException(message, inner);
}
