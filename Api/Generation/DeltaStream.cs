using AiStreaming.Channels;
using StackExchange.Redis;

namespace AiStreaming.Api.Generation;

/// <summary>
/// One generation's output and the one owner of its publish state: publishes <c>message.started</c> and the
/// pending text of its <see cref="DeltaBuffer"/> as <c>delta</c> events so that the deltas of a message,
/// concatenated in offset order, equal its text exactly once. Pending text is dropped only after a successful
/// publish; a publish whose outcome is unknown (a timeout or a dropped connection after the script may have run) is
/// looked up in the channel history before the text is sent again. Every publish carries the run's
/// <see cref="PublishFence"/>: once another process took the message over, publishing stops for good and
/// <see cref="OnFenced"/> is called. Used by one generation task at a time.
/// </summary>
internal sealed class DeltaStream
{
    private static readonly TimeSpan PublishRetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan FinalFlushPatience = TimeSpan.FromSeconds(10);
    private static readonly Task Never = new TaskCompletionSource().Task;

    private readonly DeltaPublisher shared;
    private bool publishFailing;
    private int uncertainLength;
    private Task? dueWait;
    private long dueWaitAt;

    /// <summary>Creates the output; nothing is published yet.</summary>
    /// <param name="shared">Shared services.</param>
    /// <param name="channel">The conversation's channel.</param>
    /// <param name="messageId">The assistant message.</param>
    /// <param name="buffer">Its text.</param>
    /// <param name="run">The run of the generation that publishes (its fence).</param>
    public DeltaStream(DeltaPublisher shared, ChannelName channel, Guid messageId, DeltaBuffer buffer, GenerationRun run)
    {
        this.shared = shared;
        Channel = channel;
        MessageId = messageId;
        Buffer = buffer;
        Run = run;
    }

    /// <summary>The run that publishes: its owner id fences the PostgreSQL writes, its fence the publishes.</summary>
    public GenerationRun Run { get; }

    /// <summary>Called once when a publish was refused because another process took the message over.</summary>
    public Action? OnFenced { get; set; }

    /// <summary>Whether a publish was refused because another process took the message over (nothing is published after).</summary>
    public bool Fenced { get; private set; }

    /// <summary>The conversation's channel.</summary>
    public ChannelName Channel { get; }

    /// <summary>The assistant message.</summary>
    public Guid MessageId { get; }

    /// <summary>The generation's text.</summary>
    public DeltaBuffer Buffer { get; }

    /// <summary>Position of the last event known to be published (<see langword="null"/> before the first).</summary>
    public ChannelPosition? LastPublished { get; private set; }

    /// <summary>When delta publishing may be retried (a <see cref="TimeProvider.GetTimestamp"/> value); 0 when not paused.</summary>
    public long RetryAt { get; private set; }

    /// <summary>
    /// When pending text should be published (a <see cref="TimeProvider.GetTimestamp"/> value): the buffer's rollup
    /// rule, or later while publishing is paused after a failure; <see cref="long.MaxValue"/> when nothing is pending.
    /// </summary>
    public long DueAt => Math.Max(Buffer.DueAt, RetryAt);

    /// <summary>
    /// Whether pending text should be published now: <see cref="DueAt"/> is within the <see cref="RollupTimer"/>'s
    /// slack of <paramref name="now"/> (the timer wakes a generation up to that early, to serve several at once).
    /// </summary>
    /// <param name="now">Current timestamp.</param>
    public bool IsDue(long now) => DueAt <= now + shared.Rollup.SlackTicks;

    /// <summary>
    /// A task that completes at <see cref="DueAt"/>, from the process's one <see cref="RollupTimer"/>; the same task
    /// for every call within one window, so waiting for the next chunk or the window costs no timer per token.
    /// </summary>
    public Task WhenDueAsync()
    {
        var due = DueAt;
        if (dueWait is null || dueWaitAt != due)
        {
            dueWaitAt = due;
            dueWait = due == long.MaxValue ? Never : shared.Rollup.WaitUntilAsync(due);
        }
        return dueWait;
    }

    /// <summary>Publishes <c>message.started</c> <c>{ role, userMessage: { id, content } }</c>.</summary>
    /// <param name="request">The exchange.</param>
    /// <returns>Its position.</returns>
    /// <exception cref="RedisException">Redis is unavailable (see <see cref="RedisFaults.IsUnavailable"/>).</exception>
    /// <exception cref="TimeoutException">No answer within <see cref="ChannelOptions.OperationTimeout"/>.</exception>
    public async Task<ChannelPosition> PublishStartedAsync(GenerationRequest request)
    {
        ThrowIfDisconnected();
        var position = await shared.Publisher.PublishAsync(
            Channel, ChannelEventTypes.MessageStarted, MessageId,
            ChannelEvent.ToData(new { role = "assistant", userMessage = new { id = request.UserMessageId, content = request.UserContent } }),
            Run.Fence);
        LastPublished = position;
        return position;
    }

    /// <summary>
    /// Publishes <c>message.queued</c> <c>{ position }</c> (through the channel like every event, so offsets and recovery
    /// cover it). A Redis failure is logged and skipped: the next position change publishes again.
    /// </summary>
    /// <param name="position">Place in the queue, 1 = next.</param>
    public async Task PublishQueuedAsync(int position)
    {
        try
        {
            ThrowIfDisconnected();
            LastPublished = await shared.Publisher.PublishAsync(Channel, ChannelEventTypes.MessageQueued, MessageId, ChannelEvent.ToData(new { position }), Run.Fence);
        }
        catch (ChannelFencedException)
        {
            SetFenced();
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            shared.Logger.QueuedNotPublished(MessageId, ex.Message);
        }
    }

    /// <summary>
    /// Publishes the pending text as one <c>delta</c>. On a Redis failure the text stays pending (it goes out with the
    /// next flush) and publishing pauses for a second; the generation carries on. Skipped during that pause.
    /// </summary>
    /// <returns><see langword="true"/> when nothing is pending any more.</returns>
    public async Task<bool> TryFlushAsync()
    {
        if (!Buffer.HasPending)
        {
            return true;
        }
        var time = shared.Time;
        if (Fenced || time.GetTimestamp() + shared.Rollup.SlackTicks < RetryAt)
        {
            return false;
        }
        var attempted = false;
        try
        {
            ThrowIfDisconnected();
            if (uncertainLength > 0)
            {
                await ResolveUncertainDeltaAsync();
                if (!Buffer.HasPending)
                {
                    return true;
                }
            }
            var text = Buffer.PendingText;
            attempted = true;
            LastPublished = await shared.Publisher.PublishDeltaAsync(Channel, MessageId, text, Run.Fence);
            Buffer.MarkPublished(text.Length, time.GetTimestamp());
            if (publishFailing)
            {
                publishFailing = false;
                shared.Logger.DeltaPublishRecovered(MessageId);
            }
            return true;
        }
        catch (ChannelFencedException)
        {
            SetFenced();
            return false;
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            shared.Metrics.DeltaPublishFailures.Add(1, shared.ModelTag);
            if (attempted)
            {
                // The script may have run although we saw no answer: check history before sending this text again.
                uncertainLength = Buffer.PendingText.Length;
            }
            RetryAt = time.GetTimestamp() + (long)(PublishRetryDelay.TotalSeconds * time.TimestampFrequency);
            if (!publishFailing)
            {
                publishFailing = true;
                shared.Logger.DeltaPublishFailed(MessageId, ex.Message);
            }
            return false;
        }
    }

    /// <summary>
    /// Publishes the last pending text, ignoring the retry pause. While an earlier publish has an unknown outcome it
    /// keeps trying for up to 10 s, since handing that text to the outbox unresolved could publish it twice; after a
    /// certain failure it returns at once (the caller puts the remaining text in the outbox).
    /// </summary>
    public async Task FlushFinalAsync()
    {
        var time = shared.Time;
        var started = time.GetTimestamp();
        while (Buffer.HasPending && !Fenced)
        {
            RetryAt = 0;
            if (await TryFlushAsync() || uncertainLength == 0 || time.GetElapsedTime(started) >= FinalFlushPatience)
            {
                return;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(250), time);
        }
    }

    /// <summary>Publishes <c>message.resumed</c> <c>{ takeover, textLength }</c>: this run continues the message (a takeover).</summary>
    /// <returns>Its position.</returns>
    /// <exception cref="ChannelFencedException">A later run took the message over meanwhile.</exception>
    /// <exception cref="RedisException">Redis is unavailable.</exception>
    /// <exception cref="TimeoutException">No answer within <see cref="ChannelOptions.OperationTimeout"/>.</exception>
    public async Task<ChannelPosition> PublishResumedAsync()
    {
        ThrowIfDisconnected();
        var position = await shared.Publisher.PublishAsync(
            Channel, ChannelEventTypes.MessageResumed, MessageId, ChannelEvent.ToData(new { takeover = Run.Number, textLength = Buffer.Text.Length }), Run.Fence);
        LastPublished = position;
        return position;
    }

    // Never publish again (the delay stays within Task.Delay's range): the generation stops through OnFenced.
    private void SetFenced()
    {
        if (Fenced)
        {
            return;
        }
        Fenced = true;
        RetryAt = shared.Time.GetTimestamp() + shared.Time.TimestampFrequency * 3600;
        shared.Logger.PublishFenced(MessageId, Run.Number);
        OnFenced?.Invoke();
    }

    private void ThrowIfDisconnected()
    {
        if (!shared.Redis.IsConnected)
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, "Redis is not connected.");
        }
    }

    // A delta publish that timed out may still have been executed by Redis (commands on one connection run in order,
    // so once a later read succeeds, an earlier write either ran or never will). Deltas of a message come only from its
    // owner, one at a time, so any delta of this message after the last known position is that uncertain one.
    private async Task ResolveUncertainDeltaAsync()
    {
        var after = LastPublished?.Offset ?? 0;
        var snapshot = await shared.History.ReadAsync(Channel, after, 1000);
        if (LastPublished is { } last && snapshot.Epoch != last.Epoch)
        {
            snapshot = await shared.History.ReadAsync(Channel, 0, 1000); // Redis lost the channel: look in the new epoch
        }
        var published = snapshot.Events.LastOrDefault(e => e.Type == ChannelEventTypes.Delta && e.MessageId == MessageId);
        if (published?.DeltaText is { } text && text.Length <= uncertainLength && Buffer.PendingText.StartsWith(text, StringComparison.Ordinal))
        {
            Buffer.MarkPublished(text.Length, shared.Time.GetTimestamp());
            LastPublished = new ChannelPosition(published.Epoch!, published.Offset);
            shared.Logger.UncertainDeltaWasPublished(MessageId, published.Offset);
        }
        uncertainLength = 0;
    }
}
