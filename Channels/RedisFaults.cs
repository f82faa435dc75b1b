using StackExchange.Redis;

namespace AiStreaming.Channels;

/// <summary>
/// The one rule, shared by the Api and the streamer tier, for telling "Redis is unavailable" (a transient outage the
/// caller survives and reports as <c>unavailable</c> / 503) apart from a bug.
/// </summary>
public static class RedisFaults
{
    /// <summary>
    /// Whether <paramref name="exception"/> means Redis could not be reached or did not answer in time:
    /// <see cref="RedisException"/> (including <see cref="RedisConnectionException"/>), <see cref="RedisTimeoutException"/>,
    /// a <see cref="TimeoutException"/> from a bounded wait (<see cref="ChannelOptions.OperationTimeout"/>), or an
    /// <see cref="ObjectDisposedException"/> from a multiplexer being disposed at shutdown.
    /// </summary>
    /// <param name="exception">Exception thrown by a Redis call.</param>
    /// <returns><see langword="true"/> for an outage; <see langword="false"/> for anything else (let it surface).</returns>
    public static bool IsUnavailable(Exception exception) =>
        exception is RedisException or RedisTimeoutException or TimeoutException or ObjectDisposedException;
}
