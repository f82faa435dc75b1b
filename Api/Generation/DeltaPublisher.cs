using AiStreaming.Api.Redis;
using AiStreaming.Channels;
using StackExchange.Redis;

namespace AiStreaming.Api.Generation;

/// <summary>
/// Publishes a generation's pending text as <c>delta</c> events so that the deltas of a message, concatenated in
/// offset order, equal its text exactly once: pending text is dropped only after a successful publish, and a publish
/// whose outcome is unknown (a timeout or a dropped connection after the script may have run) is looked up in the
/// channel history before the text is sent again.
/// </summary>
/// <param name="publisher">Channel publisher.</param>
/// <param name="history">Channel history.</param>
/// <param name="redis">Redis connection (publishing is skipped at once while it is disconnected).</param>
/// <param name="metrics">Instruments.</param>
/// <param name="model">Model, for the metric tag.</param>
/// <param name="time">Clock.</param>
/// <param name="logger">Logger.</param>
public sealed class DeltaPublisher(
    ChannelPublisher publisher, ChannelHistory history, IConnectionMultiplexer redis, GenerationMetrics metrics,
    ChatModelInfo model, TimeProvider time, ILogger<DeltaPublisher> logger)
{
    private static readonly TimeSpan PublishRetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan FinalFlushPatience = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Publishes the pending text as one <c>delta</c>. On a Redis failure the text stays pending (it goes out with the
    /// next flush) and publishing pauses for a second; the generation carries on. Skipped during that pause.
    /// </summary>
    /// <param name="g">The generation (its publish state is updated).</param>
    /// <param name="buffer">Its text.</param>
    /// <returns><see langword="true"/> when nothing is pending any more.</returns>
    internal async Task<bool> TryFlushAsync(RunningGeneration g, DeltaBuffer buffer)
    {
        if (!buffer.HasPending)
        {
            return true;
        }
        var now = time.GetTimestamp();
        if (now < g.PublishRetryAt)
        {
            return false;
        }
        var attempted = false;
        try
        {
            if (!redis.IsConnected)
            {
                throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, "Redis is not connected.");
            }
            if (g.UncertainLength > 0)
            {
                await ResolveUncertainDeltaAsync(g, buffer);
                if (!buffer.HasPending)
                {
                    return true;
                }
            }
            var text = buffer.PendingText;
            attempted = true;
            g.LastPublished = await publisher.PublishAsync(g.Channel, ChannelEventTypes.Delta, g.MessageId, ChannelEvent.DeltaData(text));
            buffer.MarkPublished(text.Length, time.GetTimestamp());
            if (g.PublishFailing)
            {
                g.PublishFailing = false;
                logger.DeltaPublishRecovered(g.MessageId);
            }
            return true;
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            metrics.DeltaPublishFailures.Add(1, new KeyValuePair<string, object?>("gen_ai.request.model", model.ModelId));
            if (attempted)
            {
                // The script may have run although we saw no answer: check history before sending this text again.
                g.UncertainLength = buffer.PendingText.Length;
            }
            g.PublishRetryAt = time.GetTimestamp() + (long)(PublishRetryDelay.TotalSeconds * time.TimestampFrequency);
            if (!g.PublishFailing)
            {
                g.PublishFailing = true;
                logger.DeltaPublishFailed(g.MessageId, ex.Message);
            }
            return false;
        }
    }

    // A delta publish that timed out may still have been executed by Redis (commands on one connection run in order,
    // so once a later read succeeds, an earlier write either ran or never will). Deltas of a message come only from its
    // owner, one at a time, so any delta of this message after the last known position is that uncertain one.
    private async Task ResolveUncertainDeltaAsync(RunningGeneration g, DeltaBuffer buffer)
    {
        var after = g.LastPublished?.Offset ?? 0;
        var snapshot = await history.ReadAsync(g.Channel, after, 1000);
        if (g.LastPublished is { } last && snapshot.Epoch != last.Epoch)
        {
            snapshot = await history.ReadAsync(g.Channel, 0, 1000); // Redis lost the channel: look in the new epoch
        }
        var published = snapshot.Events.LastOrDefault(e => e.Type == ChannelEventTypes.Delta && e.MessageId == g.MessageId);
        if (published?.DeltaText is { } text && text.Length <= g.UncertainLength && buffer.PendingText.StartsWith(text, StringComparison.Ordinal))
        {
            buffer.MarkPublished(text.Length, time.GetTimestamp());
            g.LastPublished = new ChannelPosition(published.Epoch!, published.Offset);
            logger.UncertainDeltaWasPublished(g.MessageId, published.Offset);
        }
        g.UncertainLength = 0;
    }

    /// <summary>
    /// Publishes the last pending text, ignoring the retry pause. While an earlier publish has an unknown outcome it
    /// keeps trying for up to 10 s, since handing that text to the outbox unresolved could publish it twice; after a
    /// certain failure it returns at once (the caller puts the remaining text in the outbox).
    /// </summary>
    /// <param name="g">The generation.</param>
    /// <param name="buffer">Its text.</param>
    internal async Task FlushFinalAsync(RunningGeneration g, DeltaBuffer buffer)
    {
        var started = time.GetTimestamp();
        while (buffer.HasPending)
        {
            g.PublishRetryAt = 0;
            if (await TryFlushAsync(g, buffer) || g.UncertainLength == 0 || time.GetElapsedTime(started) >= FinalFlushPatience)
            {
                return;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(250), time);
        }
    }
}
