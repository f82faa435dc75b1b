using System.Collections.Concurrent;
using System.Globalization;
using AiStreaming.Channels;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AiStreaming.Streamer.Auth;

/// <summary>
/// A connection or subscription counted by <see cref="UserLimits"/>; release it (once) when it ends.
/// </summary>
internal sealed class UserSlot
{
    private readonly UserLimits _owner;
    private int _released;

    internal UserSlot(UserLimits owner, RedisKey key, string id) => (_owner, Key, Id) = (owner, key, id);

    /// <summary>The user's sorted set of slots of this kind.</summary>
    internal RedisKey Key { get; }

    /// <summary>This slot's member in <see cref="Key"/>.</summary>
    internal string Id { get; }

    /// <summary>Gives the slot back; later calls do nothing.</summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _owner.Release(this);
        }
    }
}

/// <summary>
/// Per-user hub connections and subscriptions (hub and SSE), counted across every streamer replica in Redis and checked
/// against <see cref="StreamerSecurityOptions.MaxConnectionsPerUser"/> and
/// <see cref="StreamerSecurityOptions.MaxSubscriptionsPerUser"/>. Each slot is a member of a per-user sorted set
/// (<c>limits:connections:{user}</c>, <c>limits:subscriptions:{user}</c>, hash-tagged on the user) scored with its expiry:
/// this replica renews its own slots every third of <see cref="StreamerSecurityOptions.LimitSlotTtl"/>, so the slots of a
/// replica that died without releasing them expire, and a Redis that restarted empty gets them back at the next renewal.
/// </summary>
/// <remarks>
/// Fails open: while Redis cannot answer within <see cref="StreamerSecurityOptions.LimitRedisTimeout"/>, a connection or
/// subscription is admitted and counted here only (Redis gets it at the next renewal). A Redis outage already makes every
/// stream say <c>reconnecting</c> and serves it when Redis is back; refusing connections then would turn an outage into a
/// lock-out. The outage is logged once at Warning, its end once at Information.
/// RedisRateLimiting 1.2.1's concurrency limiter was not used: it drops a lease after a fixed 60 s, shorter than a
/// stream's life, and has no renewal.
/// </remarks>
internal sealed partial class UserLimits(
    IConnectionMultiplexer redis, IOptions<StreamerSecurityOptions> options, TimeProvider time, ILogger<UserLimits> logger)
    : BackgroundService
{
    /// <summary>The <c>Retry-After</c> of a refusal, in seconds: a slot frees when a stream or tab of the user ends.</summary>
    public const int RetryAfterSeconds = 5;

    // KEYS[1] the user's slots; ARGV: slot id, now (ms), its expiry (ms), limit, key lifetime (ms). Returns 1 when taken.
    private const string AcquireScript = """
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
        if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
        redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
        redis.call('PEXPIRE', KEYS[1], ARGV[5])
        return 1
        """;

    private readonly ConcurrentDictionary<UserSlot, byte> _held = new();
    private int _unavailable;

    /// <summary>The Redis key of <paramref name="userId"/>'s slots of <paramref name="kind"/>.</summary>
    /// <param name="kind"><c>connections</c> or <c>subscriptions</c>.</param>
    /// <param name="userId">The user (<c>sub</c>).</param>
    public static RedisKey KeyOf(string kind, string userId) => $"limits:{kind}:{{{userId}}}";

    /// <summary>Counts a hub connection of <paramref name="userId"/> unless it already holds the maximum.</summary>
    /// <returns>The slot, or <see langword="null"/> when refused.</returns>
    public Task<UserSlot?> TryAcquireConnectionAsync(string userId) =>
        TryAcquireAsync("connections", userId, options.Value.MaxConnectionsPerUser);

    /// <summary>Counts a subscription of <paramref name="userId"/> unless it already holds the maximum.</summary>
    /// <returns>The slot, or <see langword="null"/> when refused.</returns>
    public Task<UserSlot?> TryAcquireSubscriptionAsync(string userId) =>
        TryAcquireAsync("subscriptions", userId, options.Value.MaxSubscriptionsPerUser);

    private async Task<UserSlot?> TryAcquireAsync(string kind, string userId, int max)
    {
        var slot = new UserSlot(this, KeyOf(kind, userId), Guid.NewGuid().ToString("N"));
        var settings = options.Value;
        try
        {
            if (!redis.IsConnected)
            {
                throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, "not connected");
            }
            var now = time.GetUtcNow();
            var taken = (long)await redis.GetDatabase().ScriptEvaluateAsync(AcquireScript, [slot.Key],
                [slot.Id, now.ToUnixTimeMilliseconds(), now.Add(settings.LimitSlotTtl).ToUnixTimeMilliseconds(), max, (long)(settings.LimitSlotTtl * 2).TotalMilliseconds])
                .WaitAsync(settings.LimitRedisTimeout, time);
            Restored();
            if (taken == 0)
            {
                return null;
            }
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            Unavailable(ex);
        }
        _held[slot] = 0;
        return slot;
    }

    /// <summary>Removes <paramref name="slot"/> here and from Redis (best effort: if Redis misses it, it expires).</summary>
    internal void Release(UserSlot slot)
    {
        _held.TryRemove(slot, out _);
        try
        {
            _ = redis.GetDatabase().SortedSetRemoveAsync(slot.Key, slot.Id, CommandFlags.FireAndForget);
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            // Not renewed any more: it expires within LimitSlotTtl.
        }
    }

    /// <summary>Renews this replica's slots every third of <see cref="StreamerSecurityOptions.LimitSlotTtl"/>.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var ttl = options.Value.LimitSlotTtl;
        using var timer = new PeriodicTimer(ttl / 3, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await RenewAsync(ttl).WaitAsync(options.Value.LimitRedisTimeout * 4, time, stoppingToken);
            }
            catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
            {
                Unavailable(ex);
            }
        }
    }

    private async Task RenewAsync(TimeSpan ttl)
    {
        if (_held.IsEmpty)
        {
            return;
        }
        var expiry = time.GetUtcNow().Add(ttl).ToUnixTimeMilliseconds();
        var db = redis.GetDatabase();
        var writes = new List<Task>();
        foreach (var group in _held.Keys.GroupBy(s => s.Key))
        {
            writes.Add(db.SortedSetAddAsync(group.Key, [.. group.Select(s => new SortedSetEntry(s.Id, expiry))]));
            writes.Add(db.KeyExpireAsync(group.Key, ttl * 2));
        }
        await Task.WhenAll(writes);
        Restored();
    }

    private void Unavailable(Exception ex)
    {
        if (Interlocked.Exchange(ref _unavailable, 1) == 0)
        {
            Log.CountingUnavailable(logger, ex.GetType().Name, ex.Message);
        }
    }

    private void Restored()
    {
        if (Interlocked.Exchange(ref _unavailable, 0) == 1)
        {
            Log.CountingRestored(logger);
        }
    }

    /// <summary><see cref="RetryAfterSeconds"/> as a header value.</summary>
    public static string RetryAfter => RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Warning, "Connections and subscriptions per user are counted on this replica only while Redis is unavailable ({ErrorType}: {Reason})")]
        public static partial void CountingUnavailable(ILogger logger, string errorType, string reason);

        [LoggerMessage(LogLevel.Information, "Connections and subscriptions per user are counted in Redis again")]
        public static partial void CountingRestored(ILogger logger);
    }
}
