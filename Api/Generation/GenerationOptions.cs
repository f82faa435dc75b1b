using System.ComponentModel.DataAnnotations;

namespace AiStreaming.Api.Generation;

/// <summary>
/// How replies are generated, streamed, persisted and owned; bound from the <c>Generation</c> section
/// (e.g. <c>Generation__FirstTokenTimeout=00:00:05</c>). TimeSpans use the <c>[d.]hh:mm:ss[.fff]</c> format.
/// </summary>
public sealed class GenerationOptions : IValidatableObject
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Generation";

    /// <summary>Longest wait from the start of the model call to its first non-empty chunk; then the message fails with <c>first_token_timeout</c>. Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan FirstTokenTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// After the first token, longest wait for the model's next chunk (measured while waiting for it, so time spent
    /// publishing or checkpointing does not count); then the message fails with <c>inactivity_timeout</c>. Default 20 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan InactivityTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Longest whole generation; then the message fails with <c>total_timeout</c>. Default 5 min.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Rollup window: a reply's pending text goes out as one <c>delta</c> this long after its first pending chunk
    /// arrived, or sooner when <see cref="FlushEveryTokens"/> chunks are pending or the reply ends. The reply's first
    /// chunk goes out at once, and so does a chunk that follows a publish by at least a window (a slow or bursty model
    /// pays nothing). One timer per process serves every reply's window (<see cref="RollupTimer"/>). Zero publishes
    /// every chunk as its own delta. Default 30 ms (docs/BENCHMARKS.md, "Rollup": at 100 tokens/s about 3 tokens per
    /// event for about 15 ms of added latency on average; Ably's default is 40 ms, a display refresh is 16 ms).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01")]
    public TimeSpan RollupWindow { get; set; } = TimeSpan.FromMilliseconds(30);

    /// <summary>
    /// Size cap of a rolled-up <c>delta</c>: it goes out once this many chunks are pending, even inside the
    /// <see cref="RollupWindow"/>. The model's streamed chunks are the unit: one non-empty chunk counts as one token
    /// (exactly one token for the simulated model; for real OpenAI-compatible servers a chunk is usually, not always,
    /// one token). 1 publishes every chunk at once. Default 16.
    /// </summary>
    [Range(1, 100_000)]
    public int FlushEveryTokens { get; set; } = 16;

    /// <summary>
    /// How often the partial text is written to PostgreSQL. A takeover rebuilds the text from the channel's history, so
    /// the checkpoint is what is left only when that history was trimmed or lost. Default 2 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Ownership lease of a generation. The owner renews the leases of all its generations every
    /// <see cref="LeaseRenewInterval"/>; when one lapses (the owner died or froze) another Api process takes the reply
    /// over (<see cref="MaxTakeovers"/>). A dead owner is noticed between <c>LeaseDuration - LeaseRenewInterval</c> and
    /// <c>LeaseDuration + SweepInterval</c> after it stopped. Default 2 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.300", "01:00:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How often a process renews the leases of its generations, all in one statement. Shorter than
    /// <see cref="LeaseDuration"/> (a lease then survives <c>LeaseDuration / LeaseRenewInterval - 1</c> missed renewals).
    /// Default 500 ms.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:20:00")]
    public TimeSpan LeaseRenewInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How often the lease sweeper looks for expired leases to take over (it also runs once at startup). Default 500 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Most takeovers of one reply: a reply whose owner died continues on another process (<c>message.resumed</c>) at
    /// most this many times; after that, or when the channel's history no longer holds the whole reply, it ends
    /// <c>failed</c> with <c>generation_lost</c> and the text streamed so far. 0 never takes over. Default 3.
    /// </summary>
    [Range(0, 1000)]
    public int MaxTakeovers { get; set; } = 3;

    /// <summary>
    /// On shutdown, how long running generations may continue before they are stopped (and end <c>failed</c> with
    /// <c>generation_lost</c>, partial text kept). Keep it below the host's shutdown timeout (30 s). Default 10 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a generation may run while nobody watches its channel (no member in the channel's presence set) before
    /// it is cancelled with <c>message.cancelled</c> <c>{ reason: "abandoned" }</c>; a watcher that returns within it
    /// (a reload) keeps the generation alive. Checked every <see cref="AbandonCheckInterval"/>. Zero (the default) turns it off.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan AbandonAfter { get; set; } = TimeSpan.Zero;

    /// <summary>How often presence is read for the abandonment rule. Default 2 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan AbandonCheckInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Most generations of one model running at once across all Api replicas (admission control, held in Redis); the
    /// others wait first come, first served, and their channel gets <c>message.queued</c> <c>{ position }</c>. 0 (the
    /// default) means no limit.
    /// </summary>
    [Range(0, 100_000)]
    public int MaxConcurrentPerModel { get; set; }

    /// <summary>Longest wait for a model slot; then the message fails with <c>queue_timeout</c>. Default 2 min.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan MaxQueueWait { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How long a replayed <c>Idempotency-Key</c> of a post returns the first answer (per user). Default 24 h.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan IdempotencyWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Longest accepted user message, in UTF-16 characters; longer is a 400 validation problem. Default 8000.</summary>
    [Range(1, 1_000_000)]
    public int MaxPromptChars { get; set; } = 8000;

    /// <summary>Most earlier messages (completed, newest kept) sent to the model with a new user message. Default 40.</summary>
    [Range(0, 10_000)]
    public int MaxHistoryMessages { get; set; } = 40;

    /// <summary>System prompt put first in every chat history; empty for none.</summary>
    public string SystemPrompt { get; set; } =
        "You are a helpful assistant. Answer clearly and concisely, using Markdown where it helps.";

    /// <inheritdoc/>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (LeaseRenewInterval >= LeaseDuration)
        {
            yield return new ValidationResult(
                $"{nameof(LeaseRenewInterval)} must be shorter than {nameof(LeaseDuration)}.",
                [nameof(LeaseRenewInterval), nameof(LeaseDuration)]);
        }
    }
}
