using Microsoft.Extensions.Options;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using Microsoft.SemanticKernel.Connectors.OpenAI;

namespace AiStreaming.Api.Generation;

/// <summary>
/// Opens a generation's model stream: the chat history (system prompt, earlier messages, the user message) sent to the
/// model for a new reply, or, when a takeover holds text that an earlier run already streamed, the
/// <see cref="IReplyContinuation"/> that goes on from it.
/// </summary>
/// <param name="chat">The model.</param>
/// <param name="continuation">How this model continues a reply that another run began.</param>
/// <param name="model">Which model this is.</param>
/// <param name="options">Generation options (system prompt).</param>
public sealed class ReplyModel(IChatCompletionService chat, IReplyContinuation continuation, ChatModelInfo model, IOptions<GenerationOptions> options)
{
    /// <summary>The reply's chunks from the model.</summary>
    /// <param name="request">The exchange.</param>
    /// <param name="streamedSoFar">Text of the reply already published (empty for a new reply).</param>
    /// <param name="kernel">Kernel passed to the model call.</param>
    /// <param name="cancellationToken">Cancels the call (and aborts its HTTP request).</param>
    /// <returns>Chunks of the reply after <paramref name="streamedSoFar"/>.</returns>
    public IAsyncEnumerable<StreamingChatMessageContent> Stream(
        GenerationRequest request, string streamedSoFar, Kernel kernel, CancellationToken cancellationToken)
    {
        var history = BuildHistory(request, options.Value);
        // The simulated model is seeded per message, so whichever process continues the reply composes the same one.
        var settings = new OpenAIPromptExecutionSettings { Seed = model.IsSimulated ? SimulatedChatCompletionService.SeedFor(request.MessageId) : null };
        return streamedSoFar.Length == 0
            ? chat.GetStreamingChatMessageContentsAsync(history, settings, kernel, cancellationToken)
            : continuation.ContinueAsync(new ReplyContinuationContext(request.MessageId, history, streamedSoFar), settings, kernel, cancellationToken);
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
}
