using System.Diagnostics;

namespace AiStreaming.AppHost.Hosting.Runtime;

/// <summary>A resource while the application runs: its driver and its replicas.</summary>
internal sealed class ResourceRuntime
{
    public ResourceRuntime(IResource resource, ResourceDriver driver, int colorIndex, IReadOnlyList<int> ports)
    {
        Resource = resource;
        Driver = driver;
        ColorIndex = colorIndex;
        Replicas = [.. ports.Select((port, i) => new ReplicaRuntime(this, i, port))];
    }

    public IResource Resource { get; }

    public string Name => Resource.Name;

    public ResourceDriver Driver { get; }

    public int ColorIndex { get; }

    public IReadOnlyList<ReplicaRuntime> Replicas { get; }

    /// <summary>Raised after any replica's state changed (a database follows its server this way).</summary>
    public event Action<ReplicaRuntime>? ReplicaStateChanged;

    internal void OnReplicaStateChanged(ReplicaRuntime replica) => ReplicaStateChanged?.Invoke(replica);

    /// <summary>What this resource waits for before starting (<see cref="WaitAnnotation"/>).</summary>
    public IEnumerable<IResource> StartDependencies => Resource.WaitsFor();

    /// <summary>What this resource uses while running (wait-fors and relationships): it is stopped before them.</summary>
    public IEnumerable<IResource> AllDependencies => StartDependencies.Concat(Resource.References()).Distinct();

    /// <summary>The replica, or a clear error.</summary>
    public ReplicaRuntime GetReplica(int index) =>
        index >= 0 && index < Replicas.Count
            ? Replicas[index]
            : throw new ArgumentOutOfRangeException(nameof(index), index, $"Resource '{Name}' has {Replicas.Count} replica(s).");
}

/// <summary>One process of a resource (or the single pseudo-replica of a database or external resource): state, port, logs.</summary>
internal sealed class ReplicaRuntime(ResourceRuntime owner, int index, int port)
{
    public const int LogCapacity = 500;

    private readonly Lock _gate = new();
    private readonly Queue<string> _logs = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ResourceRuntime Owner { get; } = owner;

    public int Index { get; } = index;

    /// <summary>The replica's port; kept across restarts so endpoints and connection strings stay valid.</summary>
    public int Port { get; } = port;

    /// <summary><c>{name}-{index}</c>: the log prefix, the OTEL instance id.</summary>
    public string DisplayName => $"{Owner.Name}-{Index}";

    public ResourceState State { get; private set; } = ResourceState.NotStarted;

    public ProcessLaunch? CurrentLaunch { get; private set; }

    public int? ProcessId => CurrentLaunch is { HasExited: false } launch ? launch.ProcessId : null;

    public int? ExitCode { get; private set; }

    public int Launches { get; private set; }

    public DateTimeOffset? StateChangedAt { get; private set; }

    /// <summary>Serialises start, stop and kill of this replica.</summary>
    public SemaphoreSlim Operation { get; } = new(1, 1);

    public void SetState(ResourceState state)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            State = state;
            StateChangedAt = DateTimeOffset.UtcNow;
            changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.SetResult();
        Owner.OnReplicaStateChanged(this);
    }

    /// <summary>Waits until <paramref name="condition"/> holds, re-checking at every state change.</summary>
    public async Task WaitUntilAsync(Func<ReplicaRuntime, bool> condition, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (condition(this))
                {
                    return;
                }
                changed = _changed.Task;
            }
            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public ProcessLaunch BeginLaunch()
    {
        lock (_gate)
        {
            Launches++;
            ExitCode = null;
            CurrentLaunch = new ProcessLaunch();
            return CurrentLaunch;
        }
    }

    /// <summary>Records a launch's exit; a late exit of an older launch changes nothing.</summary>
    public bool RecordExit(ProcessLaunch launch, int exitCode)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(launch, CurrentLaunch))
            {
                return false;
            }
            ExitCode = exitCode;
        }
        SetState(launch.Intent switch
        {
            StopIntent.Kill => ResourceState.Killed,
            StopIntent.Stop => ResourceState.Stopped,
            _ => ResourceState.Exited,
        });
        return true;
    }

    public void AppendLog(string line)
    {
        lock (_logs)
        {
            if (_logs.Count == LogCapacity)
            {
                _logs.Dequeue();
            }
            _logs.Enqueue(line);
        }
    }

    public IReadOnlyList<string> GetLogs(int? last = null)
    {
        lock (_logs)
        {
            return [.. last is { } n ? _logs.Skip(Math.Max(0, _logs.Count - n)) : _logs];
        }
    }
}

/// <summary>Why a launch is ending.</summary>
internal enum StopIntent
{
    None,
    Stop,
    Kill,
}

/// <summary>One launch of a replica's process.</summary>
internal sealed class ProcessLaunch
{
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Process? Process { get; set; }

    public int ProcessId { get; set; }

    public StopIntent Intent { get; set; }

    public Task<int> Exited => _exited.Task;

    public bool HasExited => _exited.Task.IsCompleted;

    public void SetExited(int exitCode) => _exited.TrySetResult(exitCode);
}
