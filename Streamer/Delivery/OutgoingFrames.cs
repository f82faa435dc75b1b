using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using AiStreaming.Channels;

namespace AiStreaming.Streamer.Delivery;

/// <summary>
/// The bounded queue of one subscription's outgoing frames, read by its transport (hub stream or SSE response). Writers (the Redis dispatcher) never wait: when the queue is
/// full, a delta that follows a queued delta of the same message is coalesced into it in O(1) (its text is appended
/// to a builder; the merged event is serialized once, when the reader takes it); otherwise the write reports
/// <see cref="BufferWrite.Overflow"/>, and when the oldest queued event has waited longer than
/// <c>staleAfter</c> it reports <see cref="BufferWrite.Stale"/>. The caller then drops the subscriber. Queued events
/// are the node's shared instances: a queue costs one reference per event, not a copy. One reader.
/// </summary>
/// <param name="capacity">Events queued before backpressure applies (coalescing, then overflow).</param>
/// <param name="maxCoalescedChars">Largest text a coalesced delta may reach, in UTF-16 characters.</param>
/// <param name="staleAfter">How long the oldest queued event may wait before writes report <see cref="BufferWrite.Stale"/>; <see langword="null"/> or <see cref="Timeout.InfiniteTimeSpan"/> for never.</param>
/// <param name="time">Clock for <paramref name="staleAfter"/> (default: the system clock).</param>
internal sealed class OutgoingFrames(int capacity, int maxCoalescedChars, TimeSpan? staleAfter = null, TimeProvider? time = null)
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly long _staleTicks = staleAfter is not { } stale || stale == Timeout.InfiniteTimeSpan
        ? long.MaxValue
        : (long)(stale.TotalSeconds * (time ?? TimeProvider.System).TimestampFrequency);
    private (ChannelEvent Event, long EnqueuedAt)[] _ring = new (ChannelEvent, long)[Math.Min(capacity, 4)];
    private int _head;
    private int _count;
    private CoalescedDelta? _coalesced; // the last queued slot, while deltas are being merged into it
    private TaskCompletionSource<bool>? _waiter;
    private bool _completed;
    private bool _heartbeatDue;

    /// <summary>Events queued now.</summary>
    public int Count
    {
        get { lock (_gate) { return _count; } }
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
            var now = _time.GetTimestamp();
            if (!force && _count > 0 && now - _ring[_head].EnqueuedAt > _staleTicks)
            {
                return BufferWrite.Stale;
            }
            if (_count >= capacity && !force)
            {
                return TryCoalesce(e) ? BufferWrite.Coalesced : BufferWrite.Overflow;
            }
            Enqueue(e, now);
            Signal(true);
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
                Enqueue(last, _time.GetTimestamp());
            }
            _completed = true;
            Signal(false);
            return true;
        }
    }

    /// <summary>Asks the reader to write a keep-alive (SSE heartbeat) if it is idle; wakes a waiting reader.</summary>
    public void RequestHeartbeat()
    {
        lock (_gate)
        {
            _heartbeatDue = true;
            Signal(true);
        }
    }

    /// <summary>Whether a heartbeat was requested since the last call (and clears the request).</summary>
    public bool TakeHeartbeat()
    {
        lock (_gate)
        {
            var due = _heartbeatDue;
            _heartbeatDue = false;
            return due;
        }
    }

    /// <summary>Reads events until the buffer is completed and drained, or <paramref name="cancellationToken"/> fires.</summary>
    /// <param name="merge">Merge queued consecutive deltas (see <see cref="TryRead(bool, out ChannelEvent?)"/>).</param>
    /// <param name="cancellationToken">Stops reading.</param>
    public async IAsyncEnumerable<ChannelEvent> ReadAllAsync(bool merge = false, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (TryRead(merge, out var e))
            {
                yield return e;
            }
        }
    }

    /// <summary>Takes the next event if one is queued (a coalesced delta is built here, once).</summary>
    public bool TryRead([NotNullWhen(true)] out ChannelEvent? e) => TryRead(merge: false, out e);

    /// <summary>
    /// Takes the next event if one is queued. With <paramref name="merge"/>, consecutive deltas of one message that are
    /// already queued behind it are merged into one event (<c>fromOffset..offset</c>): a reader that fell behind
    /// catches up in fewer, larger frames, and an idle reader (one queued event) pays nothing.
    /// </summary>
    /// <param name="merge">Whether to merge queued consecutive deltas (up to the coalescing bound).</param>
    /// <param name="e">The event.</param>
    public bool TryRead(bool merge, [NotNullWhen(true)] out ChannelEvent? e)
    {
        lock (_gate)
        {
            e = Dequeue();
            if (e is null)
            {
                return false;
            }
            if (merge && _count > 0 && e.Type == ChannelEventTypes.Delta && e.DeltaText is { } text)
            {
                var merged = new CoalescedDelta(e, text);
                while (_count > 0 && merged.TryAppend(PeekHead(), maxCoalescedChars))
                {
                    Dequeue();
                }
                e = merged.Build();
            }
            return true;
        }
    }

    /// <summary>
    /// Completes when an event is queued or a heartbeat is due (<see langword="true"/>) or the buffer is completed and
    /// drained (<see langword="false"/>).
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task<bool> wait;
            lock (_gate)
            {
                if (_count > 0 || _heartbeatDue)
                {
                    return true;
                }
                if (_completed)
                {
                    return false;
                }
                _waiter ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _waiter.Task;
            }
            if (cancellationToken.CanBeCanceled)
            {
                // One registration per wait, removed as soon as the wait ends.
                using var registration = cancellationToken.UnsafeRegister(static s => ((TaskCompletionSource<bool>)s!).TrySetCanceled(), _waiter);
                await wait.ConfigureAwait(false);
            }
            else
            {
                await wait.ConfigureAwait(false);
            }
        }
    }

    // Takes the head slot (building the coalesced slot when it is the one taken).
    private ChannelEvent? Dequeue()
    {
        if (_count == 0)
        {
            return null;
        }
        var e = PeekHead();
        _ring[_head] = default;
        _head = (_head + 1) % _ring.Length;
        _count--;
        return e;
    }

    // The head event; when the head is the coalesced slot (the last one), it is built in place first. _count > 0.
    private ChannelEvent PeekHead()
    {
        if (_count == 1)
        {
            MaterializeTail();
        }
        return _ring[_head].Event;
    }

    // Ends the merge into the last slot: its event becomes the merged one.
    private void MaterializeTail()
    {
        if (_coalesced is { } merged)
        {
            _ring[(_head + _count - 1) % _ring.Length].Event = merged.Build();
            _coalesced = null;
        }
    }

    private void Enqueue(ChannelEvent e, long now)
    {
        MaterializeTail(); // the merged slot stops being the last one
        if (_count == _ring.Length)
        {
            var bigger = new (ChannelEvent, long)[_ring.Length * 2];
            for (var i = 0; i < _count; i++)
            {
                bigger[i] = _ring[(_head + i) % _ring.Length];
            }
            _ring = bigger;
            _head = 0;
        }
        _ring[(_head + _count) % _ring.Length] = (e, now);
        _count++;
    }

    private void Signal(bool result)
    {
        var waiter = _waiter;
        _waiter = null;
        waiter?.TrySetResult(result);
    }

    private bool TryCoalesce(ChannelEvent incoming)
    {
        if (_count == 0 || incoming.Type != ChannelEventTypes.Delta)
        {
            return false;
        }
        if (_coalesced is null)
        {
            var last = _ring[(_head + _count - 1) % _ring.Length].Event;
            if (last.Type != ChannelEventTypes.Delta || last.DeltaText is not { } text)
            {
                return false;
            }
            _coalesced = new CoalescedDelta(last, text);
        }
        return _coalesced.TryAppend(incoming, maxCoalescedChars);
    }
}
