using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using AiStreaming.Channels;

namespace AiStreaming.Streamer.Channels;

/// <summary>Result of offering an event to a <see cref="SubscriberBuffer"/>.</summary>
internal enum BufferWrite
{
    /// <summary>Queued.</summary>
    Written,

    /// <summary>The buffer was full; the delta was merged into the queued delta before it (no text lost, one frame less).</summary>
    Coalesced,

    /// <summary>The buffer was full and the event could not be coalesced: the subscriber cannot keep up.</summary>
    Overflow,

    /// <summary>The buffer is completed; the event was discarded.</summary>
    Closed,
}

/// <summary>
/// A subscriber's bounded queue of outgoing events. Writers (the Redis dispatcher) never wait: when the queue is
/// full, a delta that follows a queued delta of the same message is coalesced into it; otherwise the write reports
/// <see cref="BufferWrite.Overflow"/> and the caller drops the subscriber. One reader.
/// </summary>
/// <param name="capacity">Events queued before backpressure applies.</param>
/// <param name="maxCoalescedChars">Largest text a coalesced delta may reach.</param>
internal sealed class SubscriberBuffer(int capacity, int maxCoalescedChars)
{
    private readonly Lock _gate = new();
    private readonly LinkedList<ChannelEvent> _items = new();
    private TaskCompletionSource? _waiter;
    private bool _completed;

    /// <summary>Events queued now.</summary>
    public int Count
    {
        get { lock (_gate) { return _items.Count; } }
    }

    /// <summary>Queues <paramref name="e"/>; <paramref name="force"/> ignores the capacity (control frames, replay).</summary>
    public BufferWrite Write(ChannelEvent e, bool force = false)
    {
        lock (_gate)
        {
            if (_completed)
            {
                return BufferWrite.Closed;
            }
            if (_items.Count >= capacity && !force)
            {
                if (_items.Last is { } last && TryCoalesce(last.Value, e, out var merged))
                {
                    last.Value = merged;
                    return BufferWrite.Coalesced;
                }
                return BufferWrite.Overflow;
            }
            _items.AddLast(e);
            Signal();
            return BufferWrite.Written;
        }
    }

    /// <summary>Queues a last frame (if any) and completes the buffer: the reader drains what is queued, then ends.</summary>
    /// <returns><see langword="false"/> if the buffer was already completed.</returns>
    public bool Complete(ChannelEvent? last = null)
    {
        lock (_gate)
        {
            if (_completed)
            {
                return false;
            }
            if (last is not null)
            {
                _items.AddLast(last);
            }
            _completed = true;
            Signal();
            return true;
        }
    }

    /// <summary>Reads events until the buffer is completed and drained, or <paramref name="cancellationToken"/> fires.</summary>
    public async IAsyncEnumerable<ChannelEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (TryRead(out var e))
            {
                yield return e;
            }
        }
    }

    /// <summary>Takes the next event if one is queued.</summary>
    public bool TryRead([NotNullWhen(true)] out ChannelEvent? e)
    {
        lock (_gate)
        {
            if (_items.First is { } first)
            {
                _items.RemoveFirst();
                e = first.Value;
                return true;
            }
            e = null;
            return false;
        }
    }

    /// <summary>
    /// Completes when an event is queued (<see langword="true"/>) or the buffer is completed and drained
    /// (<see langword="false"/>).
    /// </summary>
    public async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (_items.Count > 0)
                {
                    return true;
                }
                if (_completed)
                {
                    return false;
                }
                _waiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _waiter.Task;
            }
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void Signal()
    {
        var waiter = _waiter;
        _waiter = null;
        waiter?.TrySetResult();
    }

    private bool TryCoalesce(ChannelEvent queued, ChannelEvent incoming, [NotNullWhen(true)] out ChannelEvent? merged)
    {
        merged = null;
        if (queued.DeltaText is not { } a || incoming.DeltaText is not { } b
            || queued.MessageId != incoming.MessageId || queued.Epoch != incoming.Epoch
            || incoming.Offset != queued.Offset + 1 || a.Length + b.Length > maxCoalescedChars)
        {
            return false;
        }
        merged = incoming with
        {
            FromOffset = queued.FromOffset ?? queued.Offset,
            Data = ChannelEvent.ToData(new { text = a + b }),
            RawJson = null,
        };
        return true;
    }
}
