using System.Diagnostics;
using System.Diagnostics.Metrics;
using AiStreaming.Channels;
using AiStreaming.Streamer.Delivery;

namespace AiStreaming.Streamer;

/// <summary>
/// The streamer's <see cref="ActivitySource"/> and <see cref="Meter"/>, both named <c>AiStreaming.Streamer</c>. Instruments:
/// <c>aistreaming.streamer.connections</c> (SignalR clients) and <c>aistreaming.streamer.subscriptions</c> (up-down counters, per
/// replica through the resource's <c>service.instance.id</c>), <c>aistreaming.streamer.recoveries</c> (tag <c>recovered</c>),
/// <c>aistreaming.streamer.frames.coalesced</c>, <c>aistreaming.streamer.slow_consumers</c> (subscriptions cut off because their
/// buffer overflowed), <c>aistreaming.streamer.subscribers.dropped</c> (every resubscribe hint, tag <c>reason</c>),
/// <c>aistreaming.streamer.events.received</c>, <c>aistreaming.streamer.receive.lag</c> (ms, publish to receipt from Redis) and
/// <c>aistreaming.streamer.delivery.lag</c> (ms, publish to write to the client, sampled at most every
/// <see cref="DeliveryTrace.LagSampleIntervalMs"/> per subscription). Lags are computed from the event's <c>ts</c>, so they include
/// clock skew between hosts.
/// </summary>
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
    private readonly Histogram<double> _deliveryLag;
    private readonly Counter<long> _slowConsumers;

    /// <summary>The clock lags are measured with (the host's <see cref="TimeProvider"/>).</summary>
    internal TimeProvider Time { get; }

    /// <summary>Creates the instruments through the host's meter factory.</summary>
    /// <param name="meterFactory">The host's meter factory.</param>
    /// <param name="time">Clock for lags and sampling (default: the system clock).</param>
    public StreamerTelemetry(IMeterFactory meterFactory, TimeProvider? time = null)
    {
        Time = time ?? TimeProvider.System;
        _meter = meterFactory.Create(Name);
        _subscriptions = _meter.CreateUpDownCounter<long>("aistreaming.streamer.subscriptions", "{subscription}", "Open channel subscriptions (SignalR and SSE).");
        _connections = _meter.CreateUpDownCounter<long>("aistreaming.streamer.connections", "{connection}", "Connected SignalR clients.");
        _recoveries = _meter.CreateCounter<long>("aistreaming.streamer.recoveries", "{recovery}", "Subscriptions that asked to recover, by outcome (recovered true/false).");
        _coalesced = _meter.CreateCounter<long>("aistreaming.streamer.frames.coalesced", "{frame}", "Deltas merged into the previous one because a subscriber's buffer was full.");
        _dropped = _meter.CreateCounter<long>("aistreaming.streamer.subscribers.dropped", "{subscriber}", "Subscriptions ended with a resubscribe hint, by reason.");
        _events = _meter.CreateCounter<long>("aistreaming.streamer.events.received", "{event}", "Live events received from Redis.");
        _slowConsumers = _meter.CreateCounter<long>("aistreaming.streamer.slow_consumers", "{subscriber}", "Subscriptions cut off (resubscribe) because the client did not keep up.");
        _lag = _meter.CreateHistogram<double>("aistreaming.streamer.receive.lag", "ms", "Time from publish (event ts) to receipt by this streamer.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LagBuckets });
        _deliveryLag = _meter.CreateHistogram<double>("aistreaming.streamer.delivery.lag", "ms", "Time from publish (event ts) to the write to a client (SignalR or SSE).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LagBuckets });
    }

    /// <summary>Trace source for hub and SSE operations.</summary>
    public static ActivitySource ActivitySource { get; } = new(Name);

    internal void SubscriptionOpened() => _subscriptions.Add(1);

    internal void SubscriptionClosed() => _subscriptions.Add(-1);

    internal void Connected() => _connections.Add(1);

    internal void Disconnected() => _connections.Add(-1);

    internal void Recovery(bool recovered) => _recoveries.Add(1, new KeyValuePair<string, object?>("recovered", recovered));

    internal void FrameCoalesced() => _coalesced.Add(1);

    internal void SubscriberDropped(string reason)
    {
        _dropped.Add(1, new KeyValuePair<string, object?>("reason", reason));
        if (reason == ResubscribeReasons.SlowConsumer)
        {
            _slowConsumers.Add(1);
        }
    }

    /// <summary>Starts the trace of one subscription (span <c>subscribe {channel}</c>); dispose it when the subscription ends.</summary>
    /// <param name="channel">The channel name.</param>
    /// <param name="transport"><c>signalr</c> or <c>sse</c>.</param>
    internal DeliveryTrace StartDelivery(string channel, string transport) => new(this, channel, transport);

    internal void DeliveryLag(double ms) => _deliveryLag.Record(ms);

    private static readonly double[] LagBuckets = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

    internal void EventReceived(ChannelEvent e)
    {
        _events.Add(1);
        if (e.Ts > 0)
        {
            _lag.Record(Math.Max(0, Time.GetUtcNow().ToUnixTimeMilliseconds() - e.Ts));
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _meter.Dispose();
}
