using System.Runtime.CompilerServices;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;

namespace AiStreaming.Api.Generation;

/// <summary>A reply to continue: another run streamed part of it, then its process stopped.</summary>
/// <param name="MessageId">The assistant message.</param>
/// <param name="History">The chat history of the reply's first call (system prompt, earlier messages, the user message).</param>
/// <param name="StreamedSoFar">The exact text already published to the channel (never empty).</param>
public sealed record ReplyContinuationContext(Guid MessageId, ChatHistory History, string StreamedSoFar);

/// <summary>
/// How a model continues a reply that another run began (a takeover, see <see cref="GenerationTakeover"/>): yields only
/// the text after <see cref="ReplyContinuationContext.StreamedSoFar"/>. Implementations: the simulated model (the same
/// reply again, from the character where the stream stopped) and <see cref="ChatReplyContinuation"/> (asks any chat
/// model to go on). A provider that can resume its own stream implements this interface too, e.g. OpenAI's Responses
/// API in background mode: keep the response id and the last event's sequence number, and read
/// <c>GET /v1/responses/{id}?stream=true&amp;starting_after={sequence}</c> instead of generating again.
/// </summary>
public interface IReplyContinuation
{
    /// <summary>Streams the rest of the reply.</summary>
    /// <param name="context">The reply so far.</param>
    /// <param name="settings">Execution settings of the model call.</param>
    /// <param name="kernel">Kernel passed to the model call.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Chunks that continue <see cref="ReplyContinuationContext.StreamedSoFar"/>.</returns>
    IAsyncEnumerable<StreamingChatMessageContent> ContinueAsync(
        ReplyContinuationContext context, PromptExecutionSettings settings, Kernel kernel, CancellationToken cancellationToken);
}

/// <summary>
/// Continues a reply with any chat model (OpenAI-compatible servers): calls it again with the conversation, the partial
/// reply as the assistant's message and an instruction to go on from exactly where it stops. The model cannot be forced
/// to continue seamlessly, but what was streamed is never changed: the stored reply is the partial text followed by
/// whatever the model answers.
/// </summary>
/// <param name="chat">The model.</param>
public sealed class ChatReplyContinuation(IChatCompletionService chat) : IReplyContinuation
{
    /// <summary>The system message appended after the partial reply.</summary>
    public const string Instruction =
        "Your previous reply was interrupted after the text above. Continue it from exactly where it stops, "
        + "mid-word or mid-sentence if need be: do not repeat any of it and add no preamble.";

    /// <inheritdoc/>
    public async IAsyncEnumerable<StreamingChatMessageContent> ContinueAsync(
        ReplyContinuationContext context, PromptExecutionSettings settings, Kernel kernel,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var history = new ChatHistory(context.History);
        history.AddAssistantMessage(context.StreamedSoFar);
        history.AddSystemMessage(Instruction);
        await foreach (var chunk in chat.GetStreamingChatMessageContentsAsync(history, settings, kernel, cancellationToken))
        {
            yield return chunk;
        }
    }
}
