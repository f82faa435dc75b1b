namespace AiStreaming.Streamer.Delivery;

/// <summary>Values of <c>data.reason</c> in <c>resubscribe</c> frames.</summary>
public static class ResubscribeReasons
{
    /// <summary>The subscriber's buffer overflowed: it read too slowly.</summary>
    public const string SlowConsumer = "slow_consumer";

    /// <summary>Offsets were missed and history no longer holds them (a live event skipped offsets, or after an outage history was trimmed).</summary>
    public const string Gap = "gap";

    /// <summary>The channel's epoch changed (Redis lost its data).</summary>
    public const string EpochChanged = "epoch_changed";

    /// <summary>This streamer is shutting down; reconnect (to another replica) and resubscribe.</summary>
    public const string Shutdown = "shutdown";

    /// <summary>The subscription token expired: fetch a fresh one and subscribe again from the last position.</summary>
    public const string TokenExpired = "token_expired";
}

/// <summary>Types of the streamer's own frames that <see cref="AiStreaming.Channels.ChannelEventTypes"/> does not define (docs/protocol.md).</summary>
public static class StreamerFrameTypes
{
    /// <summary>Control frame: the streamer lost Redis; the stream stays open and continues (or ends with <c>resubscribe</c>) when Redis is back. data: <c>{ reason }</c>.</summary>
    public const string Reconnecting = "reconnecting";

    /// <summary>SSE only: a keep-alive frame while the stream is idle, <c>{ "channel", "type": "heartbeat" }</c> with no position (no <c>id:</c>).</summary>
    public const string Heartbeat = "heartbeat";
}

/// <summary>Values of <c>data.reason</c> in <c>reconnecting</c> frames.</summary>
public static class ReconnectingReasons
{
    /// <summary>Redis (pub/sub or history) is unreachable.</summary>
    public const string RedisUnavailable = "redis_unavailable";
}
