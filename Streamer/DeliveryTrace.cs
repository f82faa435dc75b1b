using System.Diagnostics;
using AiStreaming.Channels;

namespace AiStreaming.Streamer;

/// <summary>
/// The trace of one subscription, built without any per-token or per-frame span or allocation:
/// <list type="bullet">
/// <item>one short span <c>subscribe {channel}</c> (Internal) from the start of the subscription to <see cref="Opened"/> (history
/// read, presence join), tagged with the transport; afterwards only its context is kept. A span held open for the
/// subscription's life cost every idle connection an <c>Activity</c> with its tags, and the Redis instrumentation keeps every
/// command issued under a running span until that span ends (docs/BENCHMARKS.md, "Memory per connection");</item>
/// <item>per message, one span <c>deliver {channel}</c> (kind Consumer) whose parent is the producer's <c>traceparent</c> carried by
/// the message's first delivered event, linked to the subscription span, ended at the message's terminal event (or when the next
/// message starts or the subscription ends) — so a reply's trace runs from the Api into every streamer that delivered it;</item>
/// <item><c>aistreaming.streamer.delivery.lag</c> (publish <c>ts</c> to write, ms), sampled at most once per
/// <see cref="LagSampleIntervalMs"/> per subscription.</item>
/// </list>
/// Call <see cref="Written"/> after an event (or the last event of a batch) was written to the client. Not thread-safe: one
/// subscription writes from one loop.
/// </summary>
internal sealed class DeliveryTrace : IDisposable
{
    /// <summary>Minimum time between two delivery-lag samples of one subscription, ms.</summary>
    public const long LagSampleIntervalMs = 100;

    private readonly StreamerTelemetry _telemetry;
    private readonly string _channel;
    private readonly string _transport;
    private readonly ActivityContext _subscription;
    private Activity? _opening;
    private Activity? _message;
    private Guid? _messageId;
    private long _lastLagSample;

    internal DeliveryTrace(StreamerTelemetry telemetry, string channel, string transport)
    {
        _telemetry = telemetry;
        _channel = channel;
        _transport = transport;
        _opening = StreamerTelemetry.ActivitySource.StartActivity("subscribe " + channel);
        _opening?.SetTag("messaging.system", "redis");
        _opening?.SetTag("messaging.destination.name", channel);
        _opening?.SetTag("aistreaming.transport", transport);
        _subscription = _opening?.Context ?? default;
    }

    /// <summary>
    /// Ends the <c>subscribe</c> span (and makes its parent current again): call it once the subscription's Redis work
    /// (history, presence join) has been issued, before the subscription settles into streaming.
    /// </summary>
    public void Opened()
    {
        _opening?.Stop();
        _opening = null;
    }

    /// <summary>Records that <paramref name="e"/> (the last of a batch) reached the client.</summary>
    public void Written(ChannelEvent e)
    {
        var now = _telemetry.Time.GetUtcNow().ToUnixTimeMilliseconds();
        if (e.Ts > 0 && now - _lastLagSample >= LagSampleIntervalMs)
        {
            _lastLagSample = now;
            _telemetry.DeliveryLag(Math.Max(0, now - e.Ts));
        }
        if (e.MessageId is { } id && id != _messageId && e.Traceparent is { } traceparent)
        {
            _messageId = id;
            StartMessage(traceparent, id);
        }
        if (_message is not null && e.Type is ChannelEventTypes.MessageCompleted or ChannelEventTypes.MessageFailed or ChannelEventTypes.MessageCancelled)
        {
            _message.SetTag("aistreaming.message.outcome", e.Type);
            _message.Stop();
            _message = null;
        }
    }

    private void StartMessage(string traceparent, Guid messageId)
    {
        _message?.Stop();
        _message = null;
        if (!ActivityContext.TryParse(traceparent, null, out var producer))
        {
            return;
        }
        var previous = Activity.Current;
        _message = StreamerTelemetry.ActivitySource.StartActivity("deliver " + _channel, ActivityKind.Consumer, producer,
            links: _subscription != default ? [new ActivityLink(_subscription)] : null);
        // The span spans the message's delivery, not the loop's async context: later awaits must not run under it.
        Activity.Current = previous;
        _message?.SetTag("messaging.operation.type", "process");
        _message?.SetTag("messaging.destination.name", _channel);
        _message?.SetTag("aistreaming.message.id", messageId);
        _message?.SetTag("aistreaming.transport", _transport);
    }

    /// <summary>Ends the open message span (and the <c>subscribe</c> span if <see cref="Opened"/> was not called).</summary>
    public void Dispose()
    {
        Opened();
        _message?.Stop();
        _message = null;
    }
}
