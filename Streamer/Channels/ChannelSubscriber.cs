using AiStreaming.Channels;

namespace AiStreaming.Streamer.Channels;

/// <summary>
/// One subscription of one client to one channel. Live events arrive from the <see cref="ChannelDispatcher"/> on
/// Redis's message thread (never blocked here); until <see cref="Start"/> they are held while history is read, then
/// replay and held events are merged through an <see cref="OffsetSequencer"/> so every offset reaches the client
/// exactly once, in order. Anything that breaks that promise (gap, epoch change, slow consumer, Redis reconnect,
/// shutdown) ends the subscription with a <c>resubscribe</c> frame, and the client recovers from its last offset.
/// </summary>
internal sealed class ChannelSubscriber
{
    private readonly Lock _gate = new();
    private readonly SubscriberBuffer _buffer;
    private readonly StreamerOptions _options;
    private readonly StreamerTelemetry _telemetry;
    private readonly CancellationTokenSource _stuck = new();
    private List<ChannelEvent>? _held = [];
    private OffsetSequencer? _sequencer;

    public ChannelSubscriber(ChannelName channel, StreamerOptions options, StreamerTelemetry telemetry, TimeProvider? time = null)
    {
        Channel = channel;
        _options = options;
        _telemetry = telemetry;
        _buffer = new SubscriberBuffer(options.SubscriberBufferCapacity, options.MaxCoalescedChars, options.SlowConsumerTimeout, time);
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
    public SubscriberBuffer Output => _buffer;

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
            _buffer.Write(new ChannelEvent
            {
                Channel = channel,
                Type = ChannelEventTypes.Subscribed,
                Epoch = plan.Epoch,
                Offset = plan.Offset,
                Data = ChannelEvent.ToData(new { recovered = plan.Recovered, node = _options.NodeId }),
                Ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            }, force: true);
            foreach (var e in plan.Replay)
            {
                Route(e, force: true);
            }
            var held = _held ?? [];
            _held = null;
            // Pub/sub delivers in publish order; sort anyway (stable, ephemeral offset-0 events first) so the
            // sequencer sees offsets ascending.
            foreach (var e in held.OrderBy(e => e.Offset))
            {
                Route(e, force: false);
            }
        }
    }

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
            var completed = _buffer.Complete(new ChannelEvent
            {
                Channel = Channel.Value,
                Type = ChannelEventTypes.Resubscribe,
                Epoch = _sequencer?.Epoch,
                Offset = _sequencer?.Offset ?? 0,
                Data = ChannelEvent.ToData(new { reason }),
                Ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            });
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

/// <summary>Values of <c>data.reason</c> in <c>resubscribe</c> frames.</summary>
public static class ResubscribeReasons
{
    /// <summary>The subscriber's buffer overflowed: it read too slowly.</summary>
    public const string SlowConsumer = "slow_consumer";

    /// <summary>Offsets were missed (pub/sub lost during a Redis reconnect).</summary>
    public const string Gap = "gap";

    /// <summary>The channel's epoch changed (Redis lost its data).</summary>
    public const string EpochChanged = "epoch_changed";

    /// <summary>This streamer is shutting down; reconnect (to another replica) and resubscribe.</summary>
    public const string Shutdown = "shutdown";

    /// <summary>The subscription token expired: fetch a fresh one and subscribe again from the last position.</summary>
    public const string TokenExpired = "token_expired";
}
