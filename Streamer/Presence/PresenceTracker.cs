using System.Collections.Concurrent;
using System.Text.Json;
using AiStreaming.Channels;
using AiStreaming.Streamer.Delivery;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AiStreaming.Streamer.Presence;

/// <summary>Who watches a channel right now, across all streamer replicas.</summary>
/// <param name="Channel">Channel name.</param>
/// <param name="Count">Number of watchers (tabs and SSE clients).</param>
/// <param name="Users">Watching users with their tab counts, by display name; never connection ids.</param>
public sealed record PresenceSnapshot(string Channel, int Count, IReadOnlyList<PresenceUser> Users);

/// <summary>A user watching a channel.</summary>
/// <param name="Name">Display name.</param>
/// <param name="Tabs">Watchers of this user (hub subscriptions and SSE clients).</param>
public sealed record PresenceUser(string Name, int Tabs);

/// <summary>
/// Presence in Redis: a sorted set per channel (member = JSON of client id, user id and display name; score = expiry
/// in Unix ms) that every replica
/// writes for its own watchers and refreshes every third of <see cref="StreamerOptions.PresenceTtl"/>, so a crashed
/// replica's watchers vanish within the TTL. Counts are published as one ephemeral <c>presence {count}</c> event per
/// channel and node at most once per <see cref="StreamerOptions.PresenceInterval"/>, and only after a join or leave there:
/// N clients joining cost O(N) frames, not one frame per join to every watcher (O(N²)). Per-client
/// <c>presence.join</c>/<c>presence.leave</c> events (naming the user's display name, never a connection id) are sent
/// only when <see cref="StreamerOptions.PresenceJoinLeave"/> is on (Centrifugo: join/leave is off unless enabled).
/// </summary>
internal sealed partial class PresenceTracker(
    IConnectionMultiplexer redis,
    IOptions<StreamerOptions> options,
    IOptions<ChannelOptions> channelOptions,
    TimeProvider time,
    ILogger<PresenceTracker> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<(string Channel, string ClientId), ChannelName> _local = new();
    private readonly ConcurrentDictionary<string, ChannelName> _dirty = new();

    /// <summary>Records a watcher; the channel's count goes out with the next interval. Redis errors are logged, not thrown.</summary>
    /// <param name="channel">Channel.</param>
    /// <param name="clientId">Connection or SSE client id (kept server-side).</param>
    /// <param name="userId">The watcher's user id.</param>
    /// <param name="displayName">The watcher's display name.</param>
    /// <returns>The presence member, for <see cref="LeaveAsync"/>.</returns>
    public async Task<string> JoinAsync(ChannelName channel, string clientId, string userId, string displayName)
    {
        var member = JsonSerializer.Serialize(new PresenceMember(clientId, userId, displayName), PresenceJson.Default.PresenceMember);
        _local[(channel.Value, member)] = channel;
        await ChangeAsync(channel, member, displayName, ChannelEventTypes.PresenceJoin);
        return member;
    }

    /// <summary>Removes a watcher; the channel's count goes out with the next interval. Redis errors are logged, not thrown.</summary>
    /// <param name="channel">Channel.</param>
    /// <param name="member">What <see cref="JoinAsync"/> returned.</param>
    public async Task LeaveAsync(ChannelName channel, string member)
    {
        _local.TryRemove((channel.Value, member), out _);
        await ChangeAsync(channel, member, Parse(member)?.N ?? "", ChannelEventTypes.PresenceLeave);
    }

    /// <summary>Reads the channel's current watchers (expired entries are removed first).</summary>
    /// <exception cref="RedisException">Redis is unreachable.</exception>
    public async Task<PresenceSnapshot> GetAsync(ChannelName channel)
    {
        var db = redis.GetDatabase();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await db.SortedSetRemoveRangeByScoreAsync(channel.PresenceKey, double.NegativeInfinity, now);
        var members = await db.SortedSetRangeByRankAsync(channel.PresenceKey);
        var users = members
            .Select(m => Parse(m.ToString()))
            .OfType<PresenceMember>()
            .GroupBy(m => m.U, StringComparer.Ordinal)
            .Select(g => new PresenceUser(g.First().N, g.Count()))
            .OrderBy(u => u.Name, StringComparer.Ordinal)
            .ToList();
        return new PresenceSnapshot(channel.Value, members.Length, users);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var refreshEvery = Math.Max(1, (int)((settings.PresenceTtl / 3) / settings.PresenceInterval));
        using var timer = new PeriodicTimer(settings.PresenceInterval, time);
        for (var tick = 1; await timer.WaitForNextTickAsync(stoppingToken); tick++)
        {
            try
            {
                await PublishCountsAsync();
                if (tick % refreshEvery == 0)
                {
                    var db = redis.GetDatabase();
                    var expiry = time.GetUtcNow().Add(settings.PresenceTtl).ToUnixTimeMilliseconds();
                    await Task.WhenAll(_local.Select(kv => db.SortedSetAddAsync(kv.Value.PresenceKey, kv.Key.ClientId, expiry)));
                }
            }
            catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
            {
                Log.RefreshFailed(logger, ex);
            }
        }
    }

    // One ZCOUNT and one PUBLISH per channel with a local join or leave in the last interval.
    private async Task PublishCountsAsync()
    {
        if (_dirty.IsEmpty)
        {
            return;
        }
        var db = redis.GetDatabase();
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var channel in _dirty.Values)
        {
            _dirty.TryRemove(channel.Value, out _);
            var count = await db.SortedSetLengthAsync(channel.PresenceKey, now, double.PositiveInfinity);
            await ChannelPublisher.PublishEphemeralAsync(redis.GetSubscriber(), channel, ChannelEventTypes.Presence, ChannelEvent.ToData(new { count }), channelOptions.Value.ShardedPubSub);
        }
    }

    private static PresenceMember? Parse(string member)
    {
        try
        {
            return JsonSerializer.Deserialize(member, PresenceJson.Default.PresenceMember);
        }
        catch (JsonException)
        {
            return null; // written by an older version
        }
    }

    private async Task ChangeAsync(ChannelName channel, string clientId, string displayName, string type)
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
            _dirty[channel.Value] = channel;
            if (options.Value.PresenceJoinLeave)
            {
                var count = await db.SortedSetLengthAsync(channel.PresenceKey, now.ToUnixTimeMilliseconds(), double.PositiveInfinity);
                await ChannelPublisher.PublishEphemeralAsync(redis.GetSubscriber(), channel, type, ChannelEvent.ToData(new { user = displayName, count }), channelOptions.Value.ShardedPubSub);
            }
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            Log.ChangeFailed(logger, channel.Value, ex.Message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Warning, "Could not refresh presence")]
        public static partial void RefreshFailed(ILogger logger, Exception exception);

        [LoggerMessage(LogLevel.Warning, "Could not update presence of channel {Channel}: {Reason}")]
        public static partial void ChangeFailed(ILogger logger, string channel, string reason);
    }
}

/// <summary>A presence sorted-set member: client id, user id, display name (short keys: it is stored per watcher).</summary>
/// <param name="C">Client id.</param>
/// <param name="U">User id.</param>
/// <param name="N">Display name.</param>
internal sealed record PresenceMember(string C, string U, string N);

[System.Text.Json.Serialization.JsonSerializable(typeof(PresenceMember))]
internal sealed partial class PresenceJson : System.Text.Json.Serialization.JsonSerializerContext;
