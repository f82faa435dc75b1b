using AiStreaming.Api.Outbox;
using AiStreaming.Channels;
using Npgsql;
using Polly;
using Polly.Registry;

namespace AiStreaming.Api.Generation;

/// <summary>
/// Ends a generation: publishes its last pending text, then writes the final text, status and terminal event in one
/// fenced PostgreSQL transaction (with any text Redis did not take as an outbox <c>delta</c> before the terminal
/// event, so the deltas of a message always concatenate to its final text), and publishes the outbox rows at once.
/// The write runs on the <see cref="ApiResilience.TerminalWrite"/> pipeline; when it still fails, the lease lapses
/// and <see cref="LeaseSweeper"/> hands the message to another run (<see cref="GenerationTakeover"/>). The write is fenced
/// by the run's owner id: a run that was taken over writes nothing.
/// </summary>
/// <param name="store">Generation persistence.</param>
/// <param name="outbox">Outbox publisher.</param>
/// <param name="pipelines">Resilience pipelines.</param>
/// <param name="logger">Logger.</param>
public sealed class GenerationFinisher(
    GenerationStore store, OutboxPublisher outbox, ResiliencePipelineProvider<string> pipelines,
    ILogger<GenerationFinisher> logger)
{
    /// <summary>Writes and publishes the end of a generation; never throws for PostgreSQL or Redis failures.</summary>
    /// <param name="output">The generation's output (text, pending text).</param>
    /// <param name="outcome">Terminal state.</param>
    /// <param name="outputTokens">Output tokens, for the stored message and <c>usage</c>.</param>
    internal async Task FinishAsync(DeltaStream output, MessageOutcome outcome, int outputTokens)
    {
        await output.FlushFinalAsync();
        var buffer = output.Buffer;
        var text = buffer.Text;
        var events = new List<OutboxEntry>(2);
        if (buffer.HasPending)
        {
            events.Add(new OutboxEntry(output.Channel, ChannelEventTypes.Delta, output.MessageId, ChannelEvent.DeltaData(buffer.PendingText)));
        }
        events.Add(TerminalEvent(output, outcome, text, outputTokens));

        long[]? ids;
        try
        {
            ids = await pipelines.GetPipeline(ApiResilience.TerminalWrite).ExecuteAsync(
                async token => await store.FinishAsync(output.MessageId, output.Run.OwnerId, outcome, text, outputTokens, events, token),
                CancellationToken.None);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            logger.FinishFailed(ex, output.MessageId);
            return;
        }
        if (ids is null)
        {
            logger.FencedOut(output.MessageId);
            return;
        }
        logger.GenerationEnded(output.MessageId, outcome.Status, outcome.Code ?? outcome.Reason ?? "none", buffer.Tokens);
        try
        {
            await outbox.PublishAsync(ids, CancellationToken.None);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            logger.TerminalPublishDeferred(output.MessageId, ex.Message);
        }
    }

    private static OutboxEntry TerminalEvent(DeltaStream output, MessageOutcome outcome, string text, int outputTokens) => outcome.Status switch
    {
        MessageStatus.Completed => new OutboxEntry(output.Channel, ChannelEventTypes.MessageCompleted, output.MessageId,
            ChannelEvent.ToData(new { text, usage = new { outputTokens } })),
        MessageStatus.Cancelled => new OutboxEntry(output.Channel, ChannelEventTypes.MessageCancelled, output.MessageId,
            ChannelEvent.ToData(new { text, reason = outcome.Reason ?? CancelReasons.User })),
        _ => new OutboxEntry(output.Channel, ChannelEventTypes.MessageFailed, output.MessageId,
            ChannelEvent.ToData(new { code = outcome.Code, message = outcome.Message, text })),
    };
}
