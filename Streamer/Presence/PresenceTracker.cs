using System.Collections.Concurrent;
using AiStreaming.Channels;
using AiStreaming.Streamer.Channels;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AiStreaming.Streamer.Presence;

/// <summary>Who watches a channel right now, across all streamer replicas.</summary>
/// <param name="Channel">Channel name.</param>
/// <param name="Count">Number of watchers.</param>
/// <param name="Clients">Watcher ids (a SignalR connection id or an SSE client id).</param>
public sealed record PresenceSnapshot(string Channel, int Count, IReadOnlyList<string> Clients);

/// <summary>
/// Presence in Redis: a sorted set per channel (member = client id, score = expiry in Unix ms) that every replica
/// writes for its own watchers and refreshes every third of <see cref="StreamerOptions.PresenceTtl"/>, so a crashed
/// replica's watchers vanish within the TTL. Joins and leaves are published as ephemeral events (offset 0).
/// </summary>
internal sealed partial class PresenceTracker(
    IConnectionMultiplexer redis,
    IOptions<StreamerOptions> options,
    TimeProvider time,
    ILogger<PresenceTracker> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<(string Channel, string ClientId), ChannelName> _local = new();

    /// <summary>Records <paramref name="clientId"/> as watching and publishes <c>presence.join</c>. Redis errors are logged, not thrown.</summary>
    public async Task JoinAsync(ChannelName channel, string clientId)
    {
        _local[(channel.Value, clientId)] = channel;
        await ChangeAsync(channel, clientId, ChannelEventTypes.PresenceJoin);
    }

    /// <summary>Removes <paramref name="clientId"/> and publishes <c>presence.leave</c>. Redis errors are logged, not thrown.</summary>
    public async Task LeaveAsync(ChannelName channel, string clientId)
    {
        _local.TryRemove((channel.Value, clientId), out _);
        await ChangeAsync(channel, clientId, ChannelEventTypes.PresenceLeave);
    }

    /// <summary>Reads the channel's current watchers (expired entries are removed first).</summary>
    /// <exception cref="RedisException">Redis is unreachable.</exception>
    public async Task<PresenceSnapshot> GetAsync(ChannelName channel)
    {
        var db = redis.GetDatabase();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await db.SortedSetRemoveRangeByScoreAsync(channel.PresenceKey, double.NegativeInfinity, now);
        var members = await db.SortedSetRangeByRankAsync(channel.PresenceKey);
        return new PresenceSnapshot(channel.Value, members.Length, [.. members.Select(m => m.ToString())]);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.PresenceTtl / 3, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var db = redis.GetDatabase();
                var expiry = time.GetUtcNow().Add(options.Value.PresenceTtl).ToUnixTimeMilliseconds();
                await Task.WhenAll(_local.Select(kv => db.SortedSetAddAsync(kv.Value.PresenceKey, kv.Key.ClientId, expiry)));
            }
            catch (RedisException ex)
            {
                Log.RefreshFailed(logger, ex);
            }
        }
    }

    private async Task ChangeAsync(ChannelName channel, string clientId, string type)
    {
        try
        {
            var db = redis.GetDatabase();
            var now = time.GetUtcNow();
            if (type == ChannelEventTypes.PresenceJoin)
            {
                await db.SortedSetAddAsync(channel.PresenceKey, clientId, now.Add(options.Value.PresenceTtl).ToUnixTimeMilliseconds());
            }
            else
            {
                await db.SortedSetRemoveAsync(channel.PresenceKey, clientId);
            }
            await db.KeyExpireAsync(channel.PresenceKey, options.Value.PresenceTtl * 2);
            var count = await db.SortedSetLengthAsync(channel.PresenceKey, now.ToUnixTimeMilliseconds(), double.PositiveInfinity);
            await ChannelPublisher.PublishEphemeralAsync(redis.GetSubscriber(), channel, type, ChannelEvent.ToData(new { clientId, count }));
        }
        catch (RedisException ex)
        {
            Log.ChangeFailed(logger, channel.Value, ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Warning, "Could not refresh presence")]
        public static partial void RefreshFailed(ILogger logger, Exception exception);

        [LoggerMessage(LogLevel.Warning, "Could not update presence of channel {Channel}")]
        public static partial void ChangeFailed(ILogger logger, string channel, Exception exception);
    }
}
