using System.Collections.Concurrent;
using System.Diagnostics;
using AiStreaming.Api.Outbox;
using AiStreaming.Api.Redis;
using AiStreaming.Channels;
using Microsoft.Extensions.Options;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using Microsoft.SemanticKernel.Connectors.OpenAI;
using Npgsql;
using OpenAI.Chat;
using StackExchange.Redis;

namespace AiStreaming.Api.Generation;

/// <summary>
/// Runs generations in the background, independent of the HTTP requests that start them, and owns them:
/// publishes <c>message.started</c>, streams the model's chunks as <c>delta</c> events, checkpoints the partial text
/// and renews the ownership lease, enforces the first-token / inactivity / total timeouts, honours cancels (local or
/// through the Redis channel <c>ais:control:cancel</c>), and ends each message with a fenced write plus outbox
/// event. On shutdown it takes no new generations and lets running ones finish within
/// <see cref="GenerationOptions.DrainTimeout"/>; the rest end <c>failed</c> (<c>generation_lost</c>).
/// </summary>
public sealed class GenerationRunner : BackgroundService
{
    /// <summary>Redis pub/sub channel of cancel requests; the message is the assistant message id (GUID, D format).</summary>
    public static readonly RedisChannel CancelChannel = RedisChannel.Literal("ais:control:cancel");

    private static readonly TimeSpan[] FinishRetryDelays = [TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8)];

    private readonly ConcurrentDictionary<Guid, RunningGeneration> running = new();
    private readonly IChatCompletionService chat;
    private readonly Kernel kernel;
    private readonly ChatModelInfo model;
    private readonly ChannelPublisher publisher;
    private readonly DeltaPublisher deltas;
    private readonly IConnectionMultiplexer redis;
    private readonly GenerationStore store;
    private readonly OutboxPublisher outbox;
    private readonly ApiInstance instance;
    private readonly GenerationMetrics metrics;
    private readonly TimeProvider time;
    private readonly IOptions<GenerationOptions> options;
    private readonly ILogger<GenerationRunner> logger;
    private readonly KeyValuePair<string, object?> modelTag;
    private volatile bool accepting = true;

    /// <summary>Creates the runner (a singleton, also registered as a hosted service).</summary>
    /// <param name="chat">The model.</param>
    /// <param name="kernel">Kernel passed to the model call.</param>
    /// <param name="model">Which model this is.</param>
    /// <param name="publisher">Channel publisher.</param>
    /// <param name="deltas">Delta publisher.</param>
    /// <param name="redis">Redis connection (cancel subscription, connectivity).</param>
    /// <param name="store">Generation persistence.</param>
    /// <param name="outbox">Outbox publisher.</param>
    /// <param name="instance">This instance's id.</param>
    /// <param name="metrics">Instruments.</param>
    /// <param name="time">Clock.</param>
    /// <param name="options">Generation options.</param>
    /// <param name="logger">Logger.</param>
    public GenerationRunner(
        IChatCompletionService chat, Kernel kernel, ChatModelInfo model, ChannelPublisher publisher, DeltaPublisher deltas, IConnectionMultiplexer redis,
        GenerationStore store, OutboxPublisher outbox, ApiInstance instance, GenerationMetrics metrics, TimeProvider time,
        IOptions<GenerationOptions> options, ILogger<GenerationRunner> logger)
    {
        this.chat = chat;
        this.kernel = kernel;
        this.model = model;
        this.publisher = publisher;
        this.deltas = deltas;
        this.redis = redis;
        this.store = store;
        this.outbox = outbox;
        this.instance = instance;
        this.metrics = metrics;
        this.time = time;
        this.options = options;
        this.logger = logger;
        modelTag = new("gen_ai.request.model", model.ModelId);
    }

    /// <summary>Whether new generations are accepted (false once shutdown began).</summary>
    public bool IsAccepting => accepting;

    /// <summary>Number of generations running in this process.</summary>
    public int RunningCount => running.Count;

    /// <summary>Whether the generation of <paramref name="messageId"/> runs in this process.</summary>
    /// <param name="messageId">Assistant message.</param>
    public bool IsRunning(Guid messageId) => running.ContainsKey(messageId);

    /// <summary>
    /// Publishes <c>message.started</c>, stores its position on the assistant message, and starts the generation in
    /// the background. If Redis is unavailable the event is skipped (position <see langword="null"/>) and the
    /// generation still runs.
    /// </summary>
    /// <param name="request">The stored exchange (assistant message <c>streaming</c>, owned by this instance).</param>
    /// <returns>The position of <c>message.started</c>, or <see langword="null"/> when it could not be published.</returns>
    public async Task<ChannelPosition?> BeginAsync(GenerationRequest request)
    {
        var generation = new RunningGeneration(request, Activity.Current?.Context ?? default);
        ChannelPosition? position = null;
        try
        {
            if (!redis.IsConnected)
            {
                throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, "Redis is not connected.");
            }
            position = await publisher.PublishAsync(
                generation.Channel, ChannelEventTypes.MessageStarted, request.MessageId,
                ChannelEvent.ToData(new { role = "assistant", userMessage = new { id = request.UserMessageId, content = request.UserContent } }));
            generation.LastPublished = position;
            await store.SetStartPositionAsync(request.MessageId, position.Value, CancellationToken.None);
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            logger.StartedNotPublished(request.MessageId, ex.Message);
        }
        catch (NpgsqlException ex)
        {
            logger.StartPositionNotStored(request.MessageId, ex.Message);
        }

        running[request.MessageId] = generation;
        metrics.Queued.Add(1, modelTag);
        _ = Task.Run(() => RunAsync(generation));
        return position;
    }

    /// <summary>Cancels the generation of <paramref name="messageId"/> if it runs in this process.</summary>
    /// <param name="messageId">Assistant message.</param>
    /// <returns><see langword="true"/> if it ran here and was not already stopping.</returns>
    public bool TryCancel(Guid messageId) =>
        running.TryGetValue(messageId, out var generation) && generation.Stop(StopReason.Cancelled);

    /// <summary>
    /// Cancels a generation wherever it runs: directly when it runs here, otherwise by publishing its id on
    /// <see cref="CancelChannel"/>, which every Api instance subscribes to (the owner cancels).
    /// </summary>
    /// <param name="messageId">Assistant message.</param>
    /// <exception cref="RedisException">The cancel could not be published (Redis unavailable).</exception>
    /// <exception cref="RedisTimeoutException">The cancel could not be published in time.</exception>
    public async Task RequestCancelAsync(Guid messageId)
    {
        if (running.ContainsKey(messageId))
        {
            TryCancel(messageId);
            logger.CancelRequested(messageId, "local");
            return;
        }
        var receivers = await redis.GetSubscriber().PublishAsync(CancelChannel, messageId.ToString("D"));
        logger.CancelRequested(messageId, $"published to {receivers} instance(s)");
    }

    /// <inheritdoc/>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (model.IsSimulated)
        {
            logger.UsingSimulatedModel();
        }
        else
        {
            logger.UsingModel(model.ModelId, model.Endpoint!);
        }
        return base.StartAsync(cancellationToken);
    }

    /// <summary>Subscribes to cancel requests, then renews the leases of running generations every third of the lease.</summary>
    /// <param name="stoppingToken">Stops the loop.</param>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await SubscribeToCancelsAsync(stoppingToken);
            var settings = options.Value;
            using var timer = new PeriodicTimer(settings.LeaseDuration / 3, time);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RenewLeasesAsync(settings.LeaseDuration, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Stops taking generations, waits up to <see cref="GenerationOptions.DrainTimeout"/> for running ones, stops
    /// the rest (they end <c>failed</c> with <c>generation_lost</c> and their partial text), then stops the lease loop.
    /// </summary>
    /// <param name="cancellationToken">The host's shutdown deadline.</param>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        accepting = false;
        if (!running.IsEmpty)
        {
            logger.Draining(running.Count, options.Value.DrainTimeout);
            await WaitForRunningAsync(options.Value.DrainTimeout, cancellationToken);
            foreach (var generation in running.Values)
            {
                generation.Stop(StopReason.Shutdown);
            }
            await WaitForRunningAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
        }
        await base.StopAsync(cancellationToken);
    }

    private async Task WaitForRunningAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(running.Values.Select(g => g.Completion)).WaitAsync(timeout, time, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
        }
    }

    private async Task SubscribeToCancelsAsync(CancellationToken stoppingToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await redis.GetSubscriber().SubscribeAsync(CancelChannel, (_, value) =>
                {
                    // Runs on the Redis subscription queue: only signal, never wait here.
                    if (Guid.TryParse((string?)value, out var messageId) && TryCancel(messageId))
                    {
                        logger.CancelledByControlMessage(messageId);
                    }
                });
                return;
            }
            catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
            {
                if (attempt == 1)
                {
                    logger.CancelSubscriptionFailed(ex.Message);
                }
                await Task.Delay(TimeSpan.FromSeconds(2), time, stoppingToken);
            }
        }
    }

    private async Task RenewLeasesAsync(TimeSpan lease, CancellationToken cancellationToken)
    {
        var ids = running.Keys.ToArray();
        if (ids.Length == 0)
        {
            return;
        }
        try
        {
            var renewed = await store.RenewLeasesAsync(ids, instance.Id, lease, cancellationToken);
            foreach (var id in ids.Where(id => !renewed.Contains(id)))
            {
                // Ended meanwhile (then Stop is a no-op), or swept: stop generating for nobody.
                if (running.TryGetValue(id, out var generation) && generation.Stop(StopReason.Lost))
                {
                    logger.OwnershipLost(id);
                }
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            logger.LeaseRenewalFailed(ids.Length, ex.Message);
        }
    }

    private async Task RunAsync(RunningGeneration g)
    {
        var settings = options.Value;
        using var activity = ApiTelemetry.ActivitySource.StartActivity("generation", ActivityKind.Internal, g.Parent);
        activity?.SetTag("gen_ai.operation.name", "chat");
        activity?.SetTag(modelTag.Key, modelTag.Value);
        activity?.SetTag("aistreaming.conversation.id", g.Request.ConversationId);
        activity?.SetTag("aistreaming.message.id", g.MessageId);
        metrics.Queued.Add(-1, modelTag);
        metrics.Active.Add(1, modelTag);

        var buffer = new DeltaBuffer(settings.FlushEveryTokens, settings.FlushInterval, time);
        var started = time.GetTimestamp();
        long firstTokenAt = 0, lastTokenAt = 0;
        int? reportedTokens = null;
        MessageOutcome? outcome;
        try
        {
            g.StartTotalTimer(settings.TotalTimeout);
            var history = BuildHistory(g.Request, settings);
            var lastCheckpoint = started;
            await using var stream = chat.GetStreamingChatMessageContentsAsync(history, new OpenAIPromptExecutionSettings(), kernel, g.ModelToken)
                .GetAsyncEnumerator(g.ModelToken);
            while (true)
            {
                // The first token is due FirstTokenTimeout after the call started; later chunks InactivityTimeout
                // after we start waiting (time spent publishing or checkpointing is not the model's).
                g.ArmWait(buffer.Tokens == 0 ? settings.FirstTokenTimeout - time.GetElapsedTime(started) : settings.InactivityTimeout);
                var hasChunk = await NextChunkAsync(g, stream, buffer);
                g.DisarmWait();
                if (!hasChunk)
                {
                    break;
                }

                var chunk = stream.Current;
                reportedTokens = ReadOutputTokens(chunk) ?? reportedTokens;
                // PostgreSQL text cannot hold NUL; drop it here so stored text and deltas stay identical.
                var piece = chunk.Content?.Replace("\0", "", StringComparison.Ordinal);
                if (string.IsNullOrEmpty(piece))
                {
                    continue;
                }

                var now = time.GetTimestamp();
                if (buffer.Tokens == 0)
                {
                    firstTokenAt = now;
                    metrics.TimeToFirstToken.Record(time.GetElapsedTime(started, now).TotalSeconds, modelTag, new("gen_ai.operation.name", "chat"));
                    activity?.AddEvent(new ActivityEvent("first_token"));
                }
                else if (buffer.Tokens % GenerationMetrics.DeltaEventEvery == 0)
                {
                    // A span event every DeltaEventEvery tokens, never one per token: the trace shows the pace of the reply.
                    activity?.AddEvent(new ActivityEvent("tokens", tags: new ActivityTagsCollection { ["gen_ai.usage.output_tokens"] = buffer.Tokens }));
                }
                lastTokenAt = now;
                buffer.Append(piece, now);

                if (buffer.TimeUntilDue(now) == TimeSpan.Zero)
                {
                    await deltas.TryFlushAsync(g, buffer);
                }
                if (time.GetElapsedTime(lastCheckpoint) >= settings.CheckpointInterval)
                {
                    lastCheckpoint = time.GetTimestamp();
                    await CheckpointAsync(g, buffer.Text, settings.LeaseDuration);
                }
            }
            outcome = MessageOutcome.Completed;
        }
        catch (Exception) when (g.ModelToken.IsCancellationRequested)
        {
            // Our own cancellation (cancel, timeout, shutdown, lost lease), whether or not the client wrapped it.
            outcome = g.ResolveStop(settings, buffer.Tokens > 0);
        }
        catch (Exception ex)
        {
            logger.ModelFailed(ex, g.MessageId);
            outcome = MessageOutcome.Failed(FailureCodes.ModelError, ModelErrorMessage(ex));
        }

        try
        {
            var outputTokens = reportedTokens ?? buffer.Tokens;
            if (outcome is null)
            {
                logger.OwnershipLost(g.MessageId);
            }
            else
            {
                await FinishAsync(g, buffer, outcome, outputTokens);
            }
            RecordOutcome(activity, outcome, started, firstTokenAt, lastTokenAt, buffer.Tokens, outputTokens);
        }
        finally
        {
            metrics.Active.Add(-1, modelTag);
            running.TryRemove(g.MessageId, out _);
            g.Complete();
            g.Dispose();
        }
    }

    // Awaits the next chunk; while it is pending, flushes pending text when it falls due (FlushInterval).
    private async Task<bool> NextChunkAsync(RunningGeneration g, IAsyncEnumerator<StreamingChatMessageContent> stream, DeltaBuffer buffer)
    {
        var next = stream.MoveNextAsync();
        if (next.IsCompleted || !buffer.HasPending)
        {
            return await next;
        }

        var nextTask = next.AsTask();
        while (!nextTask.IsCompleted && buffer.HasPending)
        {
            var now = time.GetTimestamp();
            var wait = buffer.TimeUntilDue(now);
            var retryIn = g.PublishRetryAt > now ? time.GetElapsedTime(now, g.PublishRetryAt) : TimeSpan.Zero;
            if (retryIn > wait)
            {
                wait = retryIn;
            }
            if (wait > TimeSpan.Zero)
            {
                using var delay = new CancellationTokenSource();
                await Task.WhenAny(nextTask, Task.Delay(wait, time, delay.Token));
                await delay.CancelAsync();
                continue;
            }
            await deltas.TryFlushAsync(g, buffer);
        }
        return await nextTask;
    }

    private async Task CheckpointAsync(RunningGeneration g, string text, TimeSpan lease)
    {
        try
        {
            if (!await store.CheckpointAsync(g.MessageId, instance.Id, text, lease, CancellationToken.None) && g.Stop(StopReason.Lost))
            {
                logger.OwnershipLost(g.MessageId);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            logger.CheckpointFailed(g.MessageId, ex.Message);
        }
    }

    // The terminal write: final pending text goes out first (directly, or as an outbox delta before the terminal event
    // when Redis is unavailable), so the deltas of a message always concatenate to its final text.
    private async Task FinishAsync(RunningGeneration g, DeltaBuffer buffer, MessageOutcome outcome, int outputTokens)
    {
        await deltas.FlushFinalAsync(g, buffer);
        var text = buffer.Text;
        var events = new List<OutboxEntry>(2);
        if (buffer.HasPending)
        {
            events.Add(new OutboxEntry(g.Channel, ChannelEventTypes.Delta, g.MessageId, ChannelEvent.ToData(new { text = buffer.PendingText })));
        }
        events.Add(outcome.Status switch
        {
            MessageStatus.Completed => new OutboxEntry(g.Channel, ChannelEventTypes.MessageCompleted, g.MessageId,
                ChannelEvent.ToData(new { text, usage = new { outputTokens } })),
            MessageStatus.Cancelled => new OutboxEntry(g.Channel, ChannelEventTypes.MessageCancelled, g.MessageId,
                ChannelEvent.DeltaData(text)),
            _ => new OutboxEntry(g.Channel, ChannelEventTypes.MessageFailed, g.MessageId,
                ChannelEvent.ToData(new { code = outcome.Code, message = outcome.Message, text })),
        });

        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var ids = await store.FinishAsync(g.MessageId, instance.Id, outcome, text, outputTokens, events, CancellationToken.None);
                if (ids is null)
                {
                    logger.FencedOut(g.MessageId);
                    return;
                }
                logger.GenerationEnded(g.MessageId, outcome.Status, outcome.Code ?? "none", buffer.Tokens);
                try
                {
                    await outbox.PublishAsync(ids, CancellationToken.None);
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
                {
                    logger.TerminalPublishDeferred(g.MessageId, ex.Message);
                }
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                if (attempt == FinishRetryDelays.Length)
                {
                    // The lease will lapse and the sweeper fails the message with its last checkpoint.
                    logger.FinishFailed(ex, g.MessageId);
                    return;
                }
                await Task.Delay(FinishRetryDelays[attempt], time);
            }
        }
    }

    private void RecordOutcome(Activity? activity, MessageOutcome? outcome, long started, long firstTokenAt, long lastTokenAt, int tokens, int outputTokens)
    {
        var code = outcome switch
        {
            null => FailureCodes.GenerationLost,
            { Status: MessageStatus.Completed } => "ok",
            { Status: MessageStatus.Cancelled } => "cancelled",
            _ => outcome.Code!,
        };
        var tags = new TagList { modelTag, { "code", code } };
        metrics.Duration.Record(time.GetElapsedTime(started).TotalMilliseconds, tags);
        metrics.RecordGeneration(modelTag, tokens, outputTokens, tokens > 1 ? time.GetElapsedTime(firstTokenAt, lastTokenAt) : TimeSpan.Zero);
        switch (outcome?.Status)
        {
            case MessageStatus.Completed:
                metrics.Completed.Add(1, tags);
                break;
            case MessageStatus.Cancelled:
                metrics.Cancelled.Add(1, tags);
                break;
            default:
                metrics.Failed.Add(1, tags);
                break;
        }
        activity?.SetTag("gen_ai.usage.output_tokens", outputTokens);
        activity?.SetTag("aistreaming.generation.outcome", code);
        if (outcome?.Status is not MessageStatus.Completed and not MessageStatus.Cancelled)
        {
            activity?.SetStatus(ActivityStatusCode.Error, code);
        }
    }

    private static ChatHistory BuildHistory(GenerationRequest request, GenerationOptions settings)
    {
        var history = new ChatHistory();
        if (!string.IsNullOrWhiteSpace(settings.SystemPrompt))
        {
            history.AddSystemMessage(settings.SystemPrompt);
        }
        foreach (var turn in request.History)
        {
            history.AddMessage(turn.Role == "assistant" ? AuthorRole.Assistant : AuthorRole.User, turn.Content);
        }
        history.AddUserMessage(request.UserContent);
        return history;
    }

    // OpenAI-compatible servers report usage on the last chunk (the OpenAI client asks for it); SK exposes it as metadata.
    private static int? ReadOutputTokens(StreamingChatMessageContent chunk) =>
        chunk.Metadata is { } metadata && metadata.TryGetValue("Usage", out var usage) && usage is ChatTokenUsage { OutputTokenCount: > 0 } tokens
            ? tokens.OutputTokenCount
            : null;

    private static string ModelErrorMessage(Exception ex)
    {
        var message = $"The model call failed: {ex.Message}";
        return message.Length <= 500 ? message : message[..500];
    }
}
