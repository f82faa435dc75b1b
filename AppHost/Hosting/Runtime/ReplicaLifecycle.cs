using System.Collections.Concurrent;
using System.Diagnostics;

namespace AiStreaming.AppHost.Hosting.Runtime;

/// <summary>
/// Starts one replica on its own port (again), waits until it is healthy, and stops or kills it: the driver's graceful
/// signal, then SIGKILL after the stop timeout. Start, stop and kill of one replica are serialised.
/// </summary>
internal sealed class ReplicaLifecycle(HostContext host)
{
    private const int FailureLogLines = 30;
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(200);

    private readonly ConcurrentDictionary<ResourceRuntime, SemaphoreSlim> _prepareLocks = new();

    /// <summary>Starts the replica and waits until it is healthy; a no-op when it already runs.</summary>
    /// <exception cref="DistributedApplicationException">It could not be launched, exited, or did not become healthy in time.</exception>
    public async Task StartAsync(ReplicaRuntime replica, CancellationToken cancellationToken)
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
                    throw Failure(replica, $"did not become healthy within {host.Options.HealthCheckTimeout.TotalSeconds:0} s");
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
            throw ex as DistributedApplicationException ?? Failure(replica, $"could not be started: {ex.Message}", ex);
        }
        finally
        {
            replica.Operation.Release();
        }
    }

    /// <summary>Stops the replica: the driver's graceful signal, SIGKILL after the stop timeout; or SIGKILL at once. Waits for the exit.</summary>
    public async Task StopAsync(ReplicaRuntime replica, bool kill)
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
            if (!kill && await Task.WhenAny(launch.Exited, Task.Delay(host.Options.StopTimeout)).ConfigureAwait(false) != launch.Exited)
            {
                Log($"{replica.DisplayName} did not stop within {host.Options.StopTimeout.TotalSeconds:0} s; killing it");
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

    /// <summary>Keeps a line of the replica's output, and copies it to the console when asked to.</summary>
    public void OnOutput(ReplicaRuntime replica, string line)
    {
        replica.AppendLog(line);
        if (host.Options.ForwardResourceLogsToConsole)
        {
            ConsoleOutput.ResourceLine(replica.Owner.ColorIndex, replica.DisplayName, line);
        }
    }

    // Lets the last output lines of an exited process arrive, so logs read right after a stop are complete. Bounded:
    // children of a killed server (PostgreSQL backends) may hold the pipe a little longer.
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

    private async Task PrepareAsync(ResourceRuntime runtime, ReplicaRuntime replica, CancellationToken cancellationToken)
    {
        var gate = _prepareLocks.GetOrAdd(runtime, _ => new SemaphoreSlim(1, 1));
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
        if (replica.RecordExit(launch, exitCode) && launch.Intent == StopIntent.None)
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
            if (stopwatch.Elapsed > host.Options.HealthCheckTimeout)
            {
                return HealthOutcome.TimedOut;
            }
            await Task.WhenAny(Task.Delay(ProbeInterval, cancellationToken), launch.Exited).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private void Log(string message)
    {
        if (host.Options.ForwardResourceLogsToConsole)
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

    private enum HealthOutcome
    {
        Healthy,
        Exited,
        TimedOut,
    }
}
