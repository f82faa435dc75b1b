using AiStreaming.Channels;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AiStreaming.Api.Generation;

/// <summary>
/// Cancels generations nobody watches: every <see cref="GenerationOptions.AbandonCheckInterval"/> it counts the
/// unexpired members of each running generation's presence set (<see cref="ChannelName.PresenceKey"/>: the streamer
/// tier's sorted set, scored by expiry in Unix ms); a generation whose channel had no watcher at any check for
/// <see cref="GenerationOptions.AbandonAfter"/> is stopped and ends <c>message.cancelled</c> with reason
/// <c>abandoned</c>. A watcher seen at any check (a reload within the grace period) starts the grace again. Off when
/// <see cref="GenerationOptions.AbandonAfter"/> is zero. While Redis is unavailable nothing is abandoned.
/// </summary>
/// <param name="registry">Generations of this process.</param>
/// <param name="redis">Redis connection.</param>
/// <param name="time">Clock (Unix ms for presence expiry, and the grace period).</param>
/// <param name="options">Generation options.</param>
/// <param name="logger">Logger.</param>
internal sealed class AbandonmentWatch(
    GenerationRegistry registry, IConnectionMultiplexer redis, TimeProvider time, IOptions<GenerationOptions> options,
    ILogger<AbandonmentWatch> logger) : BackgroundService
{
    // When each running generation was first seen unwatched (timestamps); only this service's loop touches it.
    private readonly Dictionary<Guid, long> unwatchedSince = [];

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (settings.AbandonAfter <= TimeSpan.Zero)
        {
            return;
        }
        using var timer = new PeriodicTimer(settings.AbandonCheckInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await CheckAsync(settings.AbandonAfter);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Checks every running generation's watchers once.</summary>
    /// <param name="abandonAfter">Grace period.</param>
    public async Task CheckAsync(TimeSpan abandonAfter)
    {
        var running = registry.Snapshot();
        foreach (var gone in unwatchedSince.Keys.Where(id => !running.Any(g => g.MessageId == id)).ToArray())
        {
            unwatchedSince.Remove(gone);
        }
        if (running.Length == 0)
        {
            return;
        }
        long[] counts;
        try
        {
            var db = redis.GetDatabase();
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            counts = await Task.WhenAll(running.Select(g => db.SortedSetLengthAsync(g.Channel.PresenceKey, now, double.PositiveInfinity, Exclude.Start)));
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            unwatchedSince.Clear(); // nothing is known about watchers: start the grace again afterwards
            logger.AbandonCheckFailed(ex.Message);
            return;
        }

        var at = time.GetTimestamp();
        for (var i = 0; i < running.Length; i++)
        {
            var id = running[i].MessageId;
            if (counts[i] > 0)
            {
                unwatchedSince.Remove(id);
            }
            else if (!unwatchedSince.TryAdd(id, at) && time.GetElapsedTime(unwatchedSince[id], at) >= abandonAfter
                && registry.TryStop(id, StopReason.Abandoned))
            {
                logger.Abandoned(id, abandonAfter);
            }
        }
    }
}
