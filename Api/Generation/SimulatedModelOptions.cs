using System.ComponentModel.DataAnnotations;

namespace AiStreaming.Api.Generation;

/// <summary>
/// Pace and length of <see cref="SimulatedChatCompletionService"/>, bound from the <c>SimulatedModel</c> section
/// (e.g. <c>SimulatedModel__TokensPerSecond=200</c>). Used only when <c>ConnectionStrings:chat</c> is absent.
/// </summary>
public sealed class SimulatedModelOptions : IValidatableObject
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "SimulatedModel";

    /// <summary>Delay before the first token. Default 400 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan TimeToFirstToken { get; set; } = TimeSpan.FromMilliseconds(400);

    /// <summary>Token rate after the first token, tokens per second. Default 40.</summary>
    [Range(0.01, 1_000_000)]
    public double TokensPerSecond { get; set; } = 40;

    /// <summary>Fewest tokens in a reply. Default 60.</summary>
    [Range(1, 100_000)]
    public int MinTokens { get; set; } = 60;

    /// <summary>Most tokens in a reply. Default 220.</summary>
    [Range(1, 100_000)]
    public int MaxTokens { get; set; } = 220;

    /// <summary>
    /// Seed for reproducible replies: with a seed, the same prompt always yields the same reply; without one
    /// (default), replies vary.
    /// </summary>
    public int? Seed { get; set; }

    /// <summary>
    /// Benchmark mode: each token's text is a space and the wall-clock time it was yielded, in Unix microseconds
    /// (e.g. <c>" 1764350000123456"</c>), instead of Markdown, so a client can measure token-to-client latency with
    /// batching included. Used by the <c>Bench</c> project and the direct-SSE baseline. Default <see langword="false"/>.
    /// </summary>
    public bool StampTokens { get; set; }

    /// <inheritdoc/>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MinTokens > MaxTokens)
        {
            yield return new ValidationResult(
                $"{nameof(MinTokens)} must not exceed {nameof(MaxTokens)}.", [nameof(MinTokens), nameof(MaxTokens)]);
        }
    }
}
