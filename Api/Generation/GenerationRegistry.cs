using System.Collections.Concurrent;

namespace AiStreaming.Api.Generation;

/// <summary>
/// The generations running in this process, and whether it still takes new ones: the one owner of that set. The
/// cancel relay, the lease renewer, the abandonment watch and the drain act on generations through it.
/// </summary>
public sealed class GenerationRegistry
{
    private readonly ConcurrentDictionary<Guid, RunningGeneration> running = new();
    private volatile bool accepting = true;

    /// <summary>Whether new generations are accepted (false once shutdown began: posts answer 503).</summary>
    public bool IsAccepting => accepting;

    /// <summary>Number of generations running in this process.</summary>
    public int Count => running.Count;

    /// <summary>Whether the generation of <paramref name="messageId"/> runs in this process.</summary>
    /// <param name="messageId">Assistant message.</param>
    public bool IsRunning(Guid messageId) => running.ContainsKey(messageId);

    /// <summary>Cancels the generation of <paramref name="messageId"/> (reason <c>user</c>) if it runs in this process.</summary>
    /// <param name="messageId">Assistant message.</param>
    /// <returns><see langword="true"/> if it ran here and was not already stopping.</returns>
    public bool TryCancel(Guid messageId) => TryStop(messageId, StopReason.Cancelled);

    /// <summary>Stops the generation of <paramref name="messageId"/> if it runs here; the first reason wins.</summary>
    /// <param name="messageId">Assistant message.</param>
    /// <param name="reason">Why.</param>
    /// <returns><see langword="true"/> if this call stopped it.</returns>
    internal bool TryStop(Guid messageId, StopReason reason) =>
        running.TryGetValue(messageId, out var generation) && generation.Stop(reason);

    /// <summary>The generations running now (a snapshot).</summary>
    internal RunningGeneration[] Snapshot() => [.. running.Values];

    /// <summary>Adds a generation about to start.</summary>
    /// <param name="generation">The generation.</param>
    internal void Add(RunningGeneration generation) => running[generation.MessageId] = generation;

    /// <summary>Removes a generation that ended, unless a later run of its message (a takeover in this process) replaced it.</summary>
    /// <param name="generation">The generation.</param>
    internal void Remove(RunningGeneration generation) => running.TryRemove(new KeyValuePair<Guid, RunningGeneration>(generation.MessageId, generation));

    /// <summary>Stops taking new generations (shutdown).</summary>
    internal void StopAccepting() => accepting = false;

    /// <summary>Waits until every running generation has ended, or <paramref name="timeout"/> elapsed.</summary>
    /// <param name="timeout">Longest wait.</param>
    /// <param name="time">Clock of the wait.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns><see langword="true"/> when none is left.</returns>
    internal async Task<bool> WaitForAllAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(running.Values.Select(g => g.Completion)).WaitAsync(timeout, time, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
        }
        return running.IsEmpty;
    }
}
