using System.Text.Json;
using AiStreaming.Channels;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AiStreaming.Api.Generation;

/// <summary>
/// Continues replies whose owner died. For each streaming message whose lease expired (claimed in PostgreSQL with a new
/// owner id, <see cref="TakeoverStore"/>): raises its publish fence and reads its channel in one Redis script
/// (<see cref="ChannelFence"/>), so the earlier run can neither store nor publish any more, rebuilds the exact text
/// streamed so far from that history (<see cref="StreamedText"/>, never the checkpoint), publishes
/// <c>message.resumed</c> and runs the <see cref="GenerationLoop"/> from there: the model continues the text
/// (<see cref="IReplyContinuation"/>) and the same message goes on at the next offset. When the history no longer
/// covers the reply, or after <see cref="GenerationOptions.MaxTakeovers"/>, the message ends <c>failed</c>
/// <c>generation_lost</c> with the text streamed so far (the checkpoint only when history is gone).
/// </summary>
/// <remarks>
/// Reply parts (text, reasoning, tool calls) do not exist yet. When they do, the rebuilt state is the parts closed in
/// history plus the open one; a tool call that was open (arguments streaming, or the tool running) when the owner died
/// is closed <c>failed</c> with a clear error and the reply continues after it: a tool is not assumed idempotent. The
/// seam is <see cref="StreamedText.Rebuild"/> (what the history says) and <see cref="ReplyContinuationContext"/> (what
/// the model is given).
/// </remarks>
/// <param name="claims">Claims in PostgreSQL.</param>
/// <param name="fence">Claims in Redis.</param>
/// <param name="registry">Generations of this process.</param>
/// <param name="deltas">Opens each generation's output.</param>
/// <param name="loop">The model loop.</param>
/// <param name="finisher">Terminal write (for the replies that cannot continue).</param>
/// <param name="metrics">Instruments.</param>
/// <param name="model">Model, for the metric tag.</param>
/// <param name="instance">This process.</param>
/// <param name="time">Clock.</param>
/// <param name="options">Generation options.</param>
/// <param name="logger">Logger.</param>
public sealed class GenerationTakeover(
    TakeoverStore claims, ChannelFence fence, GenerationRegistry registry, DeltaPublisher deltas, GenerationLoop loop,
    GenerationFinisher finisher, GenerationMetrics metrics, ChatModelInfo model, ApiInstance instance, TimeProvider time,
    IOptions<GenerationOptions> options, ILogger<GenerationTakeover> logger)
{
    /// <summary>The <c>message</c> of the failures written when a reply cannot be continued.</summary>
    public const string LostMessage = "The Api instance that owned the generation stopped before it finished.";

    private const int BatchSize = 100;
    private readonly KeyValuePair<string, object?> modelTag = new("gen_ai.request.model", model.ModelId);

    /// <summary>Claims every expired lease now and continues (or ends) each reply.</summary>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The number of replies claimed.</returns>
    /// <exception cref="NpgsqlException">The claim failed.</exception>
    public async Task<int> TakeOverExpiredAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        List<ClaimedGeneration> claimed;
        do
        {
            // A draining process claims nothing: another replica will.
            if (!registry.IsAccepting)
            {
                break;
            }
            claimed = await claims.ClaimExpiredAsync(instance, options.Value.LeaseDuration, BatchSize, cancellationToken);
            total += claimed.Count;
            await Task.WhenAll(claimed.Select(TakeOverAsync));
        }
        while (claimed.Count == BatchSize);
        return total;
    }

    /// <summary>Continues or ends one claimed reply; never throws.</summary>
    /// <param name="claimed">The claimed message.</param>
    internal async Task TakeOverAsync(ClaimedGeneration claimed)
    {
        var settings = options.Value;
        var run = claimed.Run;
        var channel = ChannelName.ForConversation(claimed.ConversationId);
        string? streamed;
        try
        {
            var history = await fence.ClaimAsync(channel, run.Fence, claimed.StartOffset);
            streamed = claimed is { Epoch: { } epoch, StartOffset: { } start } ? StreamedText.Rebuild(history, claimed.MessageId, epoch, start) : null;
        }
        catch (JsonException)
        {
            // Fenced, but the history holds an entry that is not an event: it proves nothing.
            streamed = null;
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            // Neither fenced nor read: leave the claim to lapse; the next sweep after the lease claims it again.
            logger.TakeoverDeferred(claimed.MessageId, ex.Message);
            return;
        }

        try
        {
            var request = streamed is not null && run.Number <= settings.MaxTakeovers
                ? await claims.LoadRequestAsync(claimed, settings.MaxHistoryMessages, CancellationToken.None)
                : null;
            var buffer = new DeltaBuffer(settings.FlushEveryTokens, settings.RollupWindow, time);
            if (request is null)
            {
                buffer.Restore(streamed ?? claimed.Checkpoint);
                var output = deltas.Open(new GenerationRequest(claimed.ConversationId, Guid.Empty, claimed.MessageId, "", []), buffer, run);
                logger.TakeoverImpossible(claimed.MessageId, run.Number, streamed is null ? "history_incomplete" : "max_takeovers");
                await finisher.FinishAsync(output, MessageOutcome.Failed(FailureCodes.GenerationLost, LostMessage), 0);
                metrics.Failed.Add(1, modelTag, new("code", FailureCodes.GenerationLost));
                return;
            }
            buffer.Restore(streamed!);
            await ResumeAsync(request, deltas.Open(request, buffer, run));
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            // The claim lapses and another sweep takes the reply over again.
            logger.TakeoverDeferred(claimed.MessageId, ex.Message);
        }
    }

    private async Task ResumeAsync(GenerationRequest request, DeltaStream output)
    {
        // A run of this message still in this process (it froze past its lease) is fenced already; stop it.
        registry.TryStop(request.MessageId, StopReason.Lost);
        var generation = new RunningGeneration(request, output, default, time);
        registry.Add(generation);
        try
        {
            await output.PublishResumedAsync();
        }
        catch (ChannelFencedException)
        {
            // A later run claimed it meanwhile.
            registry.Remove(generation);
            generation.Dispose();
            return;
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            // The deltas that follow are retried as usual; only the status event is missing.
            logger.ResumedNotPublished(request.MessageId, ex.Message);
        }
        logger.TakenOver(request.MessageId, output.Run.OwnerId, output.Buffer.Text.Length);
        metrics.Takeovers.Add(1, modelTag);
        metrics.Queued.Add(1, modelTag);
        _ = Task.Run(() => loop.RunAsync(generation));
    }
}
