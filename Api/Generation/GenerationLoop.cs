using System.Diagnostics;
using Microsoft.Extensions.Options;
using Microsoft.SemanticKernel;
using Npgsql;
using OpenAI.Chat;

namespace AiStreaming.Api.Generation;

/// <summary>
/// The model loop of one generation: calls the model's streaming API, enforces the first-token, inactivity and total
/// timeouts (on the injected clock), publishes pending text as deltas when due (the rollup rule of <see cref="DeltaBuffer"/>,
/// also while the model is silent), checkpoints the partial text every
/// <see cref="GenerationOptions.CheckpointInterval"/>, then hands the outcome to the <see cref="GenerationFinisher"/>
/// and records metrics. The generation leaves the <see cref="GenerationRegistry"/> when it has ended.
/// </summary>
/// <param name="replies">The model's stream: a new reply, or the continuation of one another run began.</param>
/// <param name="kernel">Kernel passed to the model call.</param>
/// <param name="model">Which model this is.</param>
/// <param name="registry">Generations of this process.</param>
/// <param name="store">Generation persistence (checkpoints).</param>
/// <param name="finisher">Terminal write.</param>
/// <param name="admission">Model slots (waits before the model call when the model is saturated).</param>
/// <param name="metrics">Instruments.</param>
/// <param name="time">Clock.</param>
/// <param name="options">Generation options.</param>
/// <param name="logger">Logger.</param>
public sealed class GenerationLoop(
    ReplyModel replies, Kernel kernel, ChatModelInfo model, GenerationRegistry registry, GenerationStore store,
    GenerationFinisher finisher, AdmissionControl admission, GenerationMetrics metrics, TimeProvider time,
    IOptions<GenerationOptions> options, ILogger<GenerationLoop> logger)
{
    private readonly KeyValuePair<string, object?> modelTag = new("gen_ai.request.model", model.ModelId);

    /// <summary>Runs the generation to its end; never throws.</summary>
    /// <param name="g">The generation (already in the registry).</param>
    internal async Task RunAsync(RunningGeneration g)
    {
        var settings = options.Value;
        using var activity = ApiTelemetry.ActivitySource.StartActivity("generation", ActivityKind.Internal, g.Parent);
        activity?.SetTag("gen_ai.operation.name", "chat");
        activity?.SetTag(modelTag.Key, modelTag.Value);
        activity?.SetTag("aistreaming.conversation.id", g.Request.ConversationId);
        activity?.SetTag("aistreaming.message.id", g.MessageId);
        var output = g.Output;
        var buffer = output.Buffer;
        var started = time.GetTimestamp();
        long firstTokenAt = 0, lastTokenAt = 0;
        int? reportedTokens = null;
        MessageOutcome? outcome;
        bool admitted = false, waiting = true;
        try
        {
            // Time spent waiting for a model slot counts towards none of the timeouts.
            admitted = await admission.WaitAsync(g.MessageId, output.PublishQueuedAsync, g.ModelToken);
            waiting = false;
            metrics.Queued.Add(-1, modelTag);
            metrics.Active.Add(1, modelTag);
            if (!admitted)
            {
                throw new QueueTimeoutException();
            }
            started = time.GetTimestamp();
            g.StartTotalTimer(settings.TotalTimeout);
            var lastCheckpoint = started;
            // A takeover's buffer starts with the text streamed so far: the model continues it.
            await using var stream = replies.Stream(g.Request, buffer.Text, kernel, g.ModelToken).GetAsyncEnumerator(g.ModelToken);
            while (true)
            {
                // The first token is due FirstTokenTimeout after the call started; later chunks InactivityTimeout
                // after we start waiting (time spent publishing or checkpointing is not the model's).
                g.ArmWait(buffer.Tokens == 0 ? settings.FirstTokenTimeout - time.GetElapsedTime(started) : settings.InactivityTimeout);
                var hasChunk = await NextChunkAsync(output, stream, time);
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
                    await output.TryFlushAsync();
                }
                if (time.GetElapsedTime(lastCheckpoint) >= settings.CheckpointInterval)
                {
                    lastCheckpoint = time.GetTimestamp();
                    await CheckpointAsync(g, buffer.Text, settings.LeaseDuration);
                }
            }
            outcome = MessageOutcome.Completed;
        }
        catch (QueueTimeoutException)
        {
            outcome = MessageOutcome.Failed(FailureCodes.QueueTimeout, $"No model slot became free within {settings.MaxQueueWait}.");
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

        if (admitted)
        {
            await admission.ReleaseAsync(g.MessageId);
        }
        if (waiting)
        {
            // Stopped while waiting for a slot.
            metrics.Queued.Add(-1, modelTag);
            metrics.Active.Add(1, modelTag);
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
                // Its end is being written: a lease renewal that no longer matches it is not a takeover.
                g.Stop(StopReason.Ended);
                await finisher.FinishAsync(output, outcome, outputTokens);
            }
            metrics.RecordOutcome(activity, modelTag, outcome, time.GetElapsedTime(started), buffer.Tokens, outputTokens,
                buffer.Tokens > 1 ? time.GetElapsedTime(firstTokenAt, lastTokenAt) : TimeSpan.Zero);
        }
        finally
        {
            metrics.Active.Add(-1, modelTag);
            registry.Remove(g);
            g.Complete();
            g.Dispose();
        }
    }

    // Awaits the next chunk; while it is pending, publishes pending text when its rollup window ends (the process's
    // one RollupTimer wakes us, no timer of our own).
    private static async Task<bool> NextChunkAsync(DeltaStream output, IAsyncEnumerator<StreamingChatMessageContent> stream, TimeProvider time)
    {
        var next = stream.MoveNextAsync();
        if (next.IsCompleted || !output.Buffer.HasPending)
        {
            return await next;
        }

        var nextTask = next.AsTask();
        while (!nextTask.IsCompleted && output.Buffer.HasPending)
        {
            if (!output.IsDue(time.GetTimestamp()))
            {
                await Task.WhenAny(nextTask, output.WhenDueAsync());
                continue;
            }
            await output.TryFlushAsync();
        }
        return await nextTask;
    }

    private async Task CheckpointAsync(RunningGeneration g, string text, TimeSpan lease)
    {
        try
        {
            if (!await store.CheckpointAsync(g.MessageId, g.Output.Run.OwnerId, text, lease, CancellationToken.None) && g.Stop(StopReason.Lost))
            {
                logger.OwnershipLost(g.MessageId);
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            logger.CheckpointFailed(g.MessageId, ex.Message);
        }
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

    private sealed class QueueTimeoutException : Exception;
}
