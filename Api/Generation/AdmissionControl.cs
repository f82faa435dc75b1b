using System.Collections.Concurrent;
using AiStreaming.Channels;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AiStreaming.Api.Generation;

/// <summary>
/// Admission control: at most <see cref="GenerationOptions.MaxConcurrentPerModel"/> generations per model run at once
/// across all Api replicas; the others wait first come, first served. State lives in Redis, per model:
/// <c>ais:admission:{model}:slots</c> (sorted set, member = message id, score = slot lease expiry in Unix ms),
/// <c>ais:admission:{model}:queue</c> (sorted set, score = arrival sequence) and <c>…:alive</c> (score = the waiter's
/// expiry). One Lua script drops expired slots and waiters (their Api died: nothing is held forever), then admits the
/// caller if it is among the first waiters that fit in the free slots, or returns its position. Waiters poll every
/// <see cref="PollInterval"/>; holders renew their slots every <see cref="PollInterval"/> for
/// <see cref="SlotLease"/>. Off when the limit is 0. While Redis is unavailable generations are admitted (fail open).
/// </summary>
/// <param name="redis">Redis connection.</param>
/// <param name="model">The model (the key of the limit).</param>
/// <param name="time">Clock.</param>
/// <param name="options">Generation options.</param>
/// <param name="logger">Logger.</param>
public sealed class AdmissionControl(
    IConnectionMultiplexer redis, ChatModelInfo model, TimeProvider time, IOptions<GenerationOptions> options, ILogger<AdmissionControl> logger)
    : BackgroundService
{
    /// <summary>How often a waiter asks again and a holder renews its slot.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>How long a slot or a place in the queue survives without renewal (its Api died).</summary>
    public static readonly TimeSpan SlotLease = TimeSpan.FromSeconds(10);

    // KEYS[1] slots, KEYS[2] queue, KEYS[3] alive, KEYS[4] arrival sequence. ARGV[1] id, ARGV[2] now ms, ARGV[3] limit,
    // ARGV[4] expiry ms of a slot or waiter. Returns 0 when admitted (slot held), else the 1-based queue position.
    private const string AcquireScript = """
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
        local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[2])
        for _, id in ipairs(dead) do redis.call('ZREM', KEYS[2], id) redis.call('ZREM', KEYS[3], id) end
        if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
        if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
          redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), ARGV[1])
        end
        redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
        local free = tonumber(ARGV[3]) - redis.call('ZCARD', KEYS[1])
        local rank = redis.call('ZRANK', KEYS[2], ARGV[1])
        if rank < free then
          redis.call('ZREM', KEYS[2], ARGV[1])
          redis.call('ZREM', KEYS[3], ARGV[1])
          redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
          return 0
        end
        return rank - math.max(free, 0) + 1
        """;

    private readonly ConcurrentDictionary<Guid, byte> held = new();
    private readonly string prefix = $"ais:admission:{{{model.ModelId}}}";

    /// <summary>Redis key of the model's held slots (sorted set, score = lease expiry in Unix ms).</summary>
    public RedisKey SlotsKey => $"{prefix}:slots";

    private RedisKey QueueKey => $"{prefix}:queue";

    private RedisKey AliveKey => $"{prefix}:alive";

    /// <summary>
    /// Waits for a slot for <paramref name="messageId"/>, calling <paramref name="onPosition"/> whenever its queue
    /// position changes (1 = next).
    /// </summary>
    /// <param name="messageId">The generation.</param>
    /// <param name="onPosition">Told each new position (publishes <c>message.queued</c>).</param>
    /// <param name="cancellationToken">Cancels the wait (the place in the queue is given up).</param>
    /// <returns><see langword="true"/> when admitted; <see langword="false"/> when it waited <see cref="GenerationOptions.MaxQueueWait"/>.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<bool> WaitAsync(Guid messageId, Func<int, Task> onPosition, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.MaxConcurrentPerModel <= 0)
        {
            return true;
        }
        var started = time.GetTimestamp();
        var last = 0;
        try
        {
            while (true)
            {
                int position;
                try
                {
                    position = await TryAcquireAsync(messageId, settings.MaxConcurrentPerModel);
                }
                catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
                {
                    logger.AdmissionUnavailable(messageId, ex.Message);
                    return true;
                }
                if (position == 0)
                {
                    held[messageId] = 0;
                    return true;
                }
                if (time.GetElapsedTime(started) >= settings.MaxQueueWait)
                {
                    await LeaveAsync(messageId);
                    return false;
                }
                if (position != last)
                {
                    last = position;
                    await onPosition(position);
                }
                await Task.Delay(PollInterval, time, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            await LeaveAsync(messageId);
            throw;
        }
    }

    /// <summary>Gives the slot of <paramref name="messageId"/> back (no-op when it holds none).</summary>
    /// <param name="messageId">The generation.</param>
    public async Task ReleaseAsync(Guid messageId)
    {
        if (held.TryRemove(messageId, out _))
        {
            await LeaveAsync(messageId);
        }
    }

    /// <summary>Renews the held slots every <see cref="PollInterval"/>.</summary>
    /// <param name="stoppingToken">Stops the loop.</param>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(PollInterval, time);
        var failing = false; // one log line per outage, not one per tick
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (held.IsEmpty)
                {
                    continue;
                }
                var expiry = time.GetUtcNow().Add(SlotLease).ToUnixTimeMilliseconds();
                try
                {
                    var db = redis.GetDatabase();
                    await Task.WhenAll(held.Keys.Select(id => db.SortedSetAddAsync(SlotsKey, id.ToString("D"), expiry, SortedSetWhen.Exists)));
                    failing = false;
                }
                catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
                {
                    if (!failing)
                    {
                        failing = true;
                        logger.AdmissionRenewalUnavailable(held.Count, ex.Message);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task<int> TryAcquireAsync(Guid messageId, int limit)
    {
        var now = time.GetUtcNow();
        var result = await redis.GetDatabase().ScriptEvaluateAsync(
            AcquireScript, [SlotsKey, QueueKey, AliveKey, $"{prefix}:seq"],
            [messageId.ToString("D"), now.ToUnixTimeMilliseconds(), limit, now.Add(SlotLease).ToUnixTimeMilliseconds()]);
        return (int)result;
    }

    private async Task LeaveAsync(Guid messageId)
    {
        try
        {
            var db = redis.GetDatabase();
            var id = messageId.ToString("D");
            await Task.WhenAll(db.SortedSetRemoveAsync(SlotsKey, id), db.SortedSetRemoveAsync(QueueKey, id), db.SortedSetRemoveAsync(AliveKey, id));
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            // The entries expire on their own (SlotLease).
            logger.AdmissionUnavailable(messageId, ex.Message);
        }
    }
}
