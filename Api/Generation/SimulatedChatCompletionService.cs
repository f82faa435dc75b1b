using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using Microsoft.SemanticKernel.Connectors.OpenAI;

namespace AiStreaming.Api.Generation;

/// <summary>
/// The built-in model used when <c>ConnectionStrings:chat</c> is absent: a Semantic Kernel
/// <see cref="IChatCompletionService"/> that streams plausible Markdown about the last user message (a heading or
/// bold lead, paragraphs, a list, sometimes a fenced code block or a table, mentioning words of the prompt).
/// </summary>
/// <remarks>
/// Pace: waits <see cref="SimulatedModelOptions.TimeToFirstToken"/>, then yields one token (a word with its leading
/// space, a punctuation mark or a newline) every 1/<see cref="SimulatedModelOptions.TokensPerSecond"/> s, scheduled
/// against the clock so timer slack does not accumulate; between
/// <see cref="SimulatedModelOptions.MinTokens"/> and <see cref="SimulatedModelOptions.MaxTokens"/> tokens in all.
/// With <see cref="SimulatedModelOptions.Seed"/> set, the reply is a function of the prompt and the seed; otherwise of
/// the prompt and the <see cref="OpenAIPromptExecutionSettings.Seed"/> of the call when given (the Api passes
/// <see cref="SeedFor"/> of the message), else random. So a takeover continues the very reply another process began
/// (<see cref="IReplyContinuation"/>): the same tokens, from the character where the stream stopped, at the same pace.
/// Cancelling the token stops the stream promptly with <see cref="OperationCanceledException"/>.
/// </remarks>
/// <param name="options">Pace and length.</param>
/// <param name="time">Clock of the pace (default: the system clock).</param>
public sealed class SimulatedChatCompletionService(IOptions<SimulatedModelOptions> options, TimeProvider? time = null)
    : IChatCompletionService, IReplyContinuation
{
    private readonly TimeProvider clock = time ?? TimeProvider.System;

    /// <summary>Model id reported on the streamed content.</summary>
    public const string ModelId = "simulated";

    /// <summary>A benchmark token: a space and <paramref name="at"/> in Unix microseconds (see <see cref="SimulatedModelOptions.StampTokens"/>).</summary>
    /// <param name="at">When the token was yielded.</param>
    public static string Stamp(DateTimeOffset at) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $" {(at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10}");

    /// <summary>The seed of a message's reply when no <see cref="SimulatedModelOptions.Seed"/> is configured.</summary>
    /// <param name="messageId">The assistant message.</param>
    public static long SeedFor(Guid messageId) => SimulatedReply.StableHash(messageId.ToString("N"));

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, object?> Attributes { get; } = new Dictionary<string, object?>();

    /// <inheritdoc/>
    /// <returns>One assistant message holding the whole reply (produced at the configured pace).</returns>
    public async Task<IReadOnlyList<ChatMessageContent>> GetChatMessageContentsAsync(
        ChatHistory chatHistory, PromptExecutionSettings? executionSettings = null, Kernel? kernel = null,
        CancellationToken cancellationToken = default)
    {
        var text = new StringBuilder();
        await foreach (var chunk in GetStreamingChatMessageContentsAsync(chatHistory, executionSettings, kernel, cancellationToken))
        {
            text.Append(chunk.Content);
        }
        return [new ChatMessageContent(AuthorRole.Assistant, text.ToString(), ModelId)];
    }

    /// <inheritdoc/>
    /// <returns>Assistant chunks of one token each.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async IAsyncEnumerable<StreamingChatMessageContent> GetStreamingChatMessageContentsAsync(
        ChatHistory chatHistory, PromptExecutionSettings? executionSettings = null, Kernel? kernel = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(chatHistory);
        await foreach (var chunk in StreamAsync(Compose(chatHistory, executionSettings), 0, cancellationToken))
        {
            yield return chunk;
        }
    }

    /// <inheritdoc/>
    /// <returns>
    /// The reply <see cref="GetStreamingChatMessageContentsAsync"/> composes for the same history and seed, after its first
    /// <c>StreamedSoFar.Length</c> characters (the token cut there yields its rest), paced as a new reply: the first
    /// chunk after <see cref="SimulatedModelOptions.TimeToFirstToken"/>. Nothing when the reply is already complete.
    /// </returns>
    public async IAsyncEnumerable<StreamingChatMessageContent> ContinueAsync(
        ReplyContinuationContext context, PromptExecutionSettings settings, Kernel kernel,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        await foreach (var chunk in StreamAsync(Compose(context.History, settings), context.StreamedSoFar.Length, cancellationToken))
        {
            yield return chunk;
        }
    }

    private List<string> Compose(ChatHistory chatHistory, PromptExecutionSettings? executionSettings)
    {
        var settings = options.Value;
        var prompt = chatHistory.LastOrDefault(m => m.Role == AuthorRole.User)?.Content ?? "";
        var seed = settings.Seed is { } fixedSeed ? SimulatedReply.StableHash(prompt) ^ fixedSeed
            : executionSettings is OpenAIPromptExecutionSettings { Seed: { } callSeed } ? SimulatedReply.StableHash(prompt) ^ (int)callSeed
            : Random.Shared.Next();
        return SimulatedReply.Compose(prompt, new Random(seed), settings.MinTokens, settings.MaxTokens);
    }

    // Yields the tokens after the first skipChars characters at the configured pace.
    private async IAsyncEnumerable<StreamingChatMessageContent> StreamAsync(
        List<string> tokens, int skipChars, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var first = 0;
        while (first < tokens.Count && skipChars >= tokens[first].Length)
        {
            skipChars -= tokens[first++].Length;
        }
        if (first < tokens.Count && skipChars > 0)
        {
            tokens[first] = tokens[first][skipChars..];
        }

        var started = clock.GetTimestamp();
        var ticksPerToken = TimeSpan.TicksPerSecond / settings.TokensPerSecond;
        for (var i = first; i < tokens.Count; i++)
        {
            var due = settings.TimeToFirstToken + TimeSpan.FromTicks((long)((i - first) * ticksPerToken));
            var wait = due - clock.GetElapsedTime(started);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, clock, cancellationToken);
            }
            cancellationToken.ThrowIfCancellationRequested();
            var text = settings.StampTokens ? Stamp(clock.GetUtcNow()) : tokens[i];
            yield return new StreamingChatMessageContent(AuthorRole.Assistant, text, modelId: ModelId);
        }
    }
}
