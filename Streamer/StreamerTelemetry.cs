using System.Diagnostics;
using System.Diagnostics.Metrics;
using AiStreaming.Channels;

namespace AiStreaming.Streamer;

/// <summary>The streamer's <see cref="ActivitySource"/> and <see cref="Meter"/>, both named <c>AiStreaming.Streamer</c>.</summary>
public sealed class StreamerTelemetry : IDisposable
{
    /// <summary>Name of the ActivitySource and Meter.</summary>
    public const string Name = "AiStreaming.Streamer";

    private readonly Meter _meter;
    private readonly UpDownCounter<long> _subscriptions;
    private readonly UpDownCounter<long> _connections;
    private readonly Counter<long> _recoveries;
    private readonly Counter<long> _coalesced;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _events;
    private readonly Histogram<double> _lag;

    /// <summary>Creates the instruments through the host's meter factory.</summary>
    public StreamerTelemetry(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(Name);
        _subscriptions = _meter.CreateUpDownCounter<long>("aistreaming.streamer.subscriptions", "{subscription}", "Open channel subscriptions (SignalR and SSE).");
        _connections = _meter.CreateUpDownCounter<long>("aistreaming.streamer.connections", "{connection}", "Connected SignalR clients.");
        _recoveries = _meter.CreateCounter<long>("aistreaming.streamer.recoveries", "{recovery}", "Subscriptions that asked to recover, by outcome (recovered true/false).");
        _coalesced = _meter.CreateCounter<long>("aistreaming.streamer.frames.coalesced", "{frame}", "Deltas merged into the previous one because a subscriber's buffer was full.");
        _dropped = _meter.CreateCounter<long>("aistreaming.streamer.subscribers.dropped", "{subscriber}", "Subscriptions ended with a resubscribe hint, by reason.");
        _events = _meter.CreateCounter<long>("aistreaming.streamer.events.received", "{event}", "Live events received from Redis.");
        _lag = _meter.CreateHistogram<double>("aistreaming.streamer.delivery.lag", "ms", "Time from publish (event ts) to receipt by this streamer.");
    }

    /// <summary>Trace source for hub and SSE operations.</summary>
    public static ActivitySource ActivitySource { get; } = new(Name);

    internal void SubscriptionOpened() => _subscriptions.Add(1);

    internal void SubscriptionClosed() => _subscriptions.Add(-1);

    internal void Connected() => _connections.Add(1);

    internal void Disconnected() => _connections.Add(-1);

    internal void Recovery(bool recovered) => _recoveries.Add(1, new KeyValuePair<string, object?>("recovered", recovered));

    internal void FrameCoalesced() => _coalesced.Add(1);

    internal void SubscriberDropped(string reason) => _dropped.Add(1, new KeyValuePair<string, object?>("reason", reason));

    internal void EventReceived(ChannelEvent e)
    {
        _events.Add(1);
        if (e.Ts > 0)
        {
            _lag.Record(Math.Max(0, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - e.Ts));
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _meter.Dispose();
}
