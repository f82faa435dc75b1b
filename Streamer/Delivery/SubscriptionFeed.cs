using AiStreaming.Channels;

namespace AiStreaming.Streamer.Delivery;

/// <summary>
/// The feed of one subscription of one client to one channel, between the <see cref="ChannelDispatcher"/> and its
/// <see cref="OutgoingFrames"/>. Live events arrive from the dispatcher on
/// Redis's message thread (never blocked here); until <see cref="Start"/> they are held while history is read, then
/// replay and held events are merged through an <see cref="OffsetSequencer"/> so every offset reaches the client
/// exactly once, in order. When Redis becomes unreachable the subscription is suspended (<see cref="Suspend"/>: a
/// <c>reconnecting</c> frame, live events held again) and, once Redis answers, resumed from the last offset it delivered
/// (<see cref="Resume"/>: a new <c>subscribed</c> frame, the missed events). Anything that breaks the promise (gap,
/// epoch change, slow consumer, shutdown) ends the subscription with a <c>resubscribe</c> frame, and the client
/// recovers from its last offset.
/// </summary>
internal sealed class SubscriptionFeed
{
    private readonly Lock _gate = new();
    private readonly OutgoingFrames _buffer;
    private readonly StreamerOptions _options;
    private readonly StreamerTelemetry _telemetry;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stuck = new();
    private List<ChannelEvent>? _held = [];
    private OffsetSequencer? _sequencer;

    private bool _suspended;

    /// <summary>Creates a subscriber that has not started delivering yet (live events are held).</summary>
    /// <param name="channel">The channel.</param>
    /// <param name="options">Buffer and replay limits, node id.</param>
    /// <param name="telemetry">Counters.</param>
    /// <param name="time">Clock for frame timestamps and the buffer's staleness bound (default: the system clock).</param>
    /// <param name="sinceOffset">The client's last processed offset, or <see langword="null"/> (live only).</param>
    /// <param name="sinceEpoch">Epoch of <paramref name="sinceOffset"/>.</param>
    public SubscriptionFeed(
        ChannelName channel, StreamerOptions options, StreamerTelemetry telemetry, TimeProvider? time = null,
        long? sinceOffset = null, string? sinceEpoch = null)
    {
        Channel = channel;
        SinceOffset = sinceOffset;
        SinceEpoch = sinceEpoch;
        _options = options;
        _telemetry = telemetry;
        _time = time ?? TimeProvider.System;
        _buffer = new OutgoingFrames(options.SubscriberBufferCapacity, options.MaxCoalescedChars, options.SlowConsumerTimeout, _time);
    }

    /// <summary>
    /// Fires when the subscriber was cut off because its reader stopped taking events for
    /// <see cref="StreamerOptions.SlowConsumerTimeout"/>: the transport should abort the connection, since the
    /// <c>resubscribe</c> frame queued for it cannot get through a stuck connection.
    /// </summary>
    public CancellationToken Stuck => _stuck.Token;

    /// <summary>The subscribed channel.</summary>
    public ChannelName Channel { get; }

    /// <summary>Why the subscription ended early, or <see langword="null"/>.</summary>
    public string? DropReason { get; private set; }

    /// <summary>Outgoing events (first the <c>subscribed</c> frame, then replay, then live).</summary>
    public OutgoingFrames Output => _buffer;

    /// <summary>The position the client asked to resume from (<see langword="null"/>: live only).</summary>
    public long? SinceOffset { get; }

    /// <summary>Epoch of <see cref="SinceOffset"/>.</summary>
    public string? SinceEpoch { get; }

    /// <summary>Whether the subscriber waits for Redis (<see cref="Suspend"/> was called and <see cref="Resume"/> not yet).</summary>
    public bool IsSuspended
    {
        get { lock (_gate) { return _suspended && DropReason is null; } }
    }

    /// <summary>
    /// What to read from history to start or resume: events after <c>AfterOffset</c>, at most <c>MaxEntries</c>
    /// (0: the position only). Before the first start, the client's own position; afterwards the last offset delivered.
    /// </summary>
    public (long AfterOffset, int MaxEntries) HistoryRequest
    {
        get
        {
            lock (_gate)
            {
                if (_sequencer is null)
                {
                    // A position at long.MaxValue is ahead of any channel: read the position only (recovered=false).
                    return SinceOffset is { } since && SinceEpoch is not null && since < long.MaxValue
                        ? (since, _options.MaxReplayEvents)
                        : (0, 0);
                }
                return (_sequencer.Offset, _options.MaxReplayEvents);
            }
        }
    }

    /// <summary>
    /// Redis is unreachable: queues a <c>reconnecting {reason}</c> frame (once per outage) and holds live events until
    /// <see cref="Resume"/>. The stream stays open.
    /// </summary>
    /// <param name="reason">Value of <c>data.reason</c>, e.g. <see cref="ReconnectingReasons.RedisUnavailable"/>.</param>
    public void Suspend(string reason)
    {
        lock (_gate)
        {
            if (DropReason is not null || _suspended)
            {
                return;
            }
            _suspended = true;
            _held ??= [];
            // A status without a position (offset 0, like presence): clients that track offsets skip it, and SSE gives it no id.
            _buffer.Write(Control(StreamerFrameTypes.Reconnecting, new { reason }) with { Epoch = _sequencer?.Epoch ?? SinceEpoch, Offset = 0 }, force: true);
        }
    }

    /// <summary>
    /// Starts (first time) or resumes (after <see cref="Suspend"/>) delivery from a history snapshot read after the live
    /// subscription was in place. On resume the client is at the last offset it was sent: when history proves
    /// continuity from there, a <c>subscribed {recovered: true}</c> frame at that position, the missed events and the
    /// held live events follow; otherwise the subscription ends with <c>resubscribe</c> (<c>epoch_changed</c> or
    /// <c>gap</c>).
    /// </summary>
    /// <param name="snapshot">Position and history after <see cref="HistoryRequest"/>.</param>
    /// <returns>The plan of a first start (for telemetry), or <see langword="null"/> on resume.</returns>
    public RecoveryPlan? Resume(HistorySnapshot snapshot)
    {
        lock (_gate)
        {
            if (DropReason is not null)
            {
                return null;
            }
            _suspended = false;
            if (_sequencer is null)
            {
                var plan = Recovery.Plan(SinceOffset, SinceEpoch, snapshot);
                Start(Channel.Value, plan);
                return plan;
            }
            var (epoch, offset) = (_sequencer.Epoch, _sequencer.Offset);
            // A channel that had no events when we subscribed continues if its history starts at offset 1.
            var continued = epoch is null && offset == 0
                ? (snapshot.Epoch is null ? new RecoveryPlan(true, null, 0, []) : Recovery.Plan(0, snapshot.Epoch, snapshot))
                : Recovery.Plan(offset, epoch, snapshot);
            if (!continued.Recovered)
            {
                Drop(snapshot.Epoch != epoch && epoch is not null ? ResubscribeReasons.EpochChanged : ResubscribeReasons.Gap);
                return null;
            }
            _buffer.Write(Control(ChannelEventTypes.Subscribed, new { recovered = true, node = _options.NodeId }), force: true);
            Deliver(continued.Replay);
            return null;
        }
    }

    /// <summary>Called by the dispatcher for each live event of the channel. Never blocks.</summary>
    public void OnEvent(ChannelEvent e)
    {
        lock (_gate)
        {
            if (_held is not null)
            {
                if (_held.Count >= _options.MaxReplayEvents)
                {
                    Drop(ResubscribeReasons.SlowConsumer);
                    return;
                }
                _held.Add(e);
                return;
            }
            Route(e, force: false);
        }
    }

    /// <summary>
    /// Begins delivery: queues the <c>subscribed</c> frame, the replay of <paramref name="plan"/>, then the live
    /// events held since the live subscription was made (skipping offsets already replayed).
    /// </summary>
    public void Start(string channel, RecoveryPlan plan)
    {
        lock (_gate)
        {
            _sequencer = new OffsetSequencer(plan.Epoch, plan.Offset);
            _buffer.Write(Control(ChannelEventTypes.Subscribed, new { recovered = plan.Recovered, node = _options.NodeId }), force: true);
            Deliver(plan.Replay);
        }
    }

    // Queues the replay, then the live events held meanwhile (offsets already replayed are skipped). Under _gate.
    private void Deliver(IReadOnlyList<ChannelEvent> replay)
    {
        foreach (var e in replay)
        {
            Route(e, force: true);
        }
        var held = _held ?? [];
        _held = null;
        // Pub/sub delivers in publish order; sort anyway (stable, ephemeral offset-0 events first) so the
        // sequencer sees offsets ascending.
        foreach (var e in held.OrderBy(e => e.Offset))
        {
            if (DropReason is not null)
            {
                return;
            }
            Route(e, force: false);
        }
    }

    // A control frame for this subscriber only, at its current position. Under _gate.
    private ChannelEvent Control<T>(string type, T data) => new()
    {
        Channel = Channel.Value,
        Type = type,
        Epoch = _sequencer?.Epoch,
        Offset = _sequencer?.Offset ?? 0,
        Data = ChannelEvent.ToData(data),
        Ts = _time.GetUtcNow().ToUnixTimeMilliseconds(),
    };

    /// <summary>Ends the subscription with a <c>resubscribe</c> frame carrying <paramref name="reason"/>.</summary>
    public void Drop(string reason)
    {
        lock (_gate)
        {
            if (DropReason is not null)
            {
                return;
            }
            DropReason = reason;
            _held = null;
            var completed = _buffer.Complete(Control(ChannelEventTypes.Resubscribe, new { reason }));
            if (completed)
            {
                _telemetry.SubscriberDropped(reason);
            }
        }
    }

    private void Route(ChannelEvent e, bool force)
    {
        switch (_sequencer!.Accept(e))
        {
            case SequenceDecision.Deliver:
            case SequenceDecision.DeliverEphemeral:
                switch (_buffer.Write(e, force))
                {
                    case BufferWrite.Coalesced:
                        _telemetry.FrameCoalesced();
                        break;
                    case BufferWrite.Overflow:
                        Drop(ResubscribeReasons.SlowConsumer);
                        break;
                    case BufferWrite.Stale:
                        Drop(ResubscribeReasons.SlowConsumer);
                        _ = _stuck.CancelAsync(); // the transport's abort runs outside this lock
                        break;
                }
                break;
            case SequenceDecision.Gap:
                Drop(ResubscribeReasons.Gap);
                break;
            case SequenceDecision.EpochChanged:
                Drop(ResubscribeReasons.EpochChanged);
                break;
            case SequenceDecision.Duplicate:
                break;
        }
    }
}
