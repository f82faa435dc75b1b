using System.Runtime.ExceptionServices;

namespace AiStreaming.AppHost.Hosting.Runtime;

/// <summary>
/// The resource graph while the application runs: starts resources in <c>WaitFor</c> order (independent ones in parallel)
/// and stops them in reverse dependency order. One replica's start and stop belong to <see cref="ReplicaLifecycle"/>.
/// </summary>
internal sealed class Orchestrator
{
    private readonly Dictionary<IResource, ResourceRuntime> _byResource;

    public Orchestrator(HostContext host, IReadOnlyList<ResourceRuntime> runtimes)
    {
        Host = host;
        Lifecycle = new ReplicaLifecycle(host);
        _byResource = runtimes.ToDictionary(r => r.Resource);
        StartOrder = Sort(runtimes, r => r.StartDependencies, failOnCycle: true);
        StopOrder = [.. Enumerable.Reverse(Sort(runtimes, r => r.AllDependencies, failOnCycle: false))];
        foreach (var runtime in runtimes)
        {
            runtime.Driver.Initialize(runtime, Runtime);
        }
    }

    /// <summary>Resources in start order: every resource after those it waits for.</summary>
    public IReadOnlyList<ResourceRuntime> StartOrder { get; }

    /// <summary>Resources in stop order: every resource before those it uses.</summary>
    public IReadOnlyList<ResourceRuntime> StopOrder { get; }

    public HostContext Host { get; }

    /// <summary>Starts and stops single replicas.</summary>
    public ReplicaLifecycle Lifecycle { get; }

    /// <summary>The resource called <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="KeyNotFoundException">No resource has that name.</exception>
    public ResourceRuntime Get(string name) =>
        _byResource.Values.FirstOrDefault(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new KeyNotFoundException($"No resource named '{name}'. Resources: {string.Join(", ", StartOrder.Select(r => r.Name))}.");

    /// <summary>
    /// The replicas a resource id names: <c>{name}-{index}</c> one replica (<c>streamer-1</c>), <c>{name}</c> every replica of
    /// the resource.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No resource or replica has that id.</exception>
    public IReadOnlyList<ReplicaRuntime> Resolve(string resourceId)
    {
        if (_byResource.Values.FirstOrDefault(r => string.Equals(r.Name, resourceId, StringComparison.OrdinalIgnoreCase)) is { } runtime)
        {
            return runtime.Replicas;
        }
        return StartOrder.SelectMany(r => r.Replicas).FirstOrDefault(r => string.Equals(r.DisplayName, resourceId, StringComparison.OrdinalIgnoreCase)) is { } replica
            ? [replica]
            : throw new KeyNotFoundException(
                $"No resource or replica '{resourceId}'. Ids: {string.Join(", ", StartOrder.SelectMany(r => r.Replicas.Select(p => p.DisplayName).Prepend(r.Name)))}.");
    }

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
        await Task.WhenAll(runtime.Replicas.Select(r => Lifecycle.StartAsync(r, cancellationToken))).ConfigureAwait(false);
        await runtime.Driver.OnResourceHealthyAsync(runtime, line => Lifecycle.OnOutput(runtime.Replicas[0], line), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops every resource in reverse dependency order (the replicas of one resource together).</summary>
    public async Task StopAllAsync()
    {
        foreach (var runtime in StopOrder)
        {
            await Task.WhenAll(runtime.Replicas.Select(r => Lifecycle.StopAsync(r, kill: false))).ConfigureAwait(false);
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

    private sealed class DependencyFailedException(string message, Exception inner) : DistributedApplicationException(message, inner);
}
