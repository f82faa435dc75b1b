using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;

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
/// With <see cref="SimulatedModelOptions.Seed"/> set, the reply is a function of the prompt and the seed.
/// Cancelling the token stops the stream promptly with <see cref="OperationCanceledException"/>.
/// </remarks>
/// <param name="options">Pace and length.</param>
/// <param name="time">Clock of the pace (default: the system clock).</param>
public sealed class SimulatedChatCompletionService(IOptions<SimulatedModelOptions> options, TimeProvider? time = null) : IChatCompletionService
{
    private readonly TimeProvider clock = time ?? TimeProvider.System;

    /// <summary>Model id reported on the streamed content.</summary>
    public const string ModelId = "simulated";

    /// <summary>A benchmark token: a space and <paramref name="at"/> in Unix microseconds (see <see cref="SimulatedModelOptions.StampTokens"/>).</summary>
    /// <param name="at">When the token was yielded.</param>
    public static string Stamp(DateTimeOffset at) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $" {(at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10}");

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
        var settings = options.Value;
        var prompt = chatHistory.LastOrDefault(m => m.Role == AuthorRole.User)?.Content ?? "";
        var seed = settings.Seed is { } fixedSeed ? SimulatedReply.StableHash(prompt) ^ fixedSeed : Random.Shared.Next();
        var tokens = SimulatedReply.Compose(prompt, new Random(seed), settings.MinTokens, settings.MaxTokens);

        var started = clock.GetTimestamp();
        var ticksPerToken = TimeSpan.TicksPerSecond / settings.TokensPerSecond;
        for (var i = 0; i < tokens.Count; i++)
        {
            var due = settings.TimeToFirstToken + TimeSpan.FromTicks((long)(i * ticksPerToken));
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
