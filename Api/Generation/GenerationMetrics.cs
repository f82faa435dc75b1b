using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace AiStreaming.Api.Generation;

/// <summary>
/// Generation instruments on the <c>AiStreaming.Api</c> meter. Names, units and bucket boundaries follow the OpenTelemetry
/// semantic conventions for generative AI metrics (semconv 1.37 "gen-ai-metrics") where they exist: seconds for
/// <c>gen_ai.server.*</c> durations, <c>{token}</c> for <c>gen_ai.client.token.usage</c>; our own use milliseconds. Every
/// instrument carries <c>gen_ai.request.model</c>; outcome counters also carry <c>code</c> (<c>ok</c>, <c>cancelled</c>, or the
/// failure code).
/// </summary>
public sealed class GenerationMetrics
{
    /// <summary>Creates the instruments.</summary>
    /// <param name="meterFactory">Meter factory (the meter is named <see cref="ApiTelemetry.Name"/>).</param>
    public GenerationMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(ApiTelemetry.Name);
        TimeToFirstToken = meter.CreateHistogram<double>("gen_ai.server.time_to_first_token", "s", "Time to generate first token for successful responses.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0] });
        TimePerOutputToken = meter.CreateHistogram<double>("gen_ai.server.time_per_output_token", "s", "Time per output token generated after the first token, per generation.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5] });
        TokenUsage = meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}", "Number of output tokens used per generation.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864] });
        TokensPerSecond = meter.CreateHistogram<double>("aistreaming.generation.tokens_per_second", "{token}/s", "Output rate of a generation after its first token.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 5, 10, 20, 40, 80, 160, 320, 640, 1280] });
        Duration = meter.CreateHistogram<double>("aistreaming.generation.duration", "ms", "Duration of a generation, start to terminal state.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [100, 250, 500, 1000, 2500, 5000, 10000, 20000, 30000, 60000, 120000, 300000] });
        Active = meter.CreateUpDownCounter<long>("aistreaming.generations.active", "{generation}", "Generations whose model call runs in this process.");
        Queued = meter.CreateUpDownCounter<long>("aistreaming.generations.queued", "{generation}", "Generations accepted and not yet started (waiting for a model slot, Generation:MaxConcurrentPerModel, or a thread).");
        Completed = meter.CreateCounter<long>("aistreaming.generation.completed", "{generation}", "Generations that completed.");
        Cancelled = meter.CreateCounter<long>("aistreaming.generation.cancelled", "{generation}", "Generations cancelled by a user.");
        Failed = meter.CreateCounter<long>("aistreaming.generation.failed", "{generation}", "Generations that failed (timeouts, model errors, lost owners).");
        Takeovers = meter.CreateCounter<long>("aistreaming.generation.takeovers", "{generation}", "Replies whose owner died that this process continued (message.resumed).");
        DeltaPublishFailures = meter.CreateCounter<long>("aistreaming.generation.delta_publish_failures", "{attempt}", "Delta publishes that failed or were skipped because Redis was unavailable (text kept for the next flush).");
    }

    /// <summary>How many published deltas apart the generation span gets a <c>deltas.published</c> event (at most one event per this many deltas).</summary>
    public const int DeltaEventEvery = 64;

    /// <summary>Time to first token, s (<c>gen_ai.server.time_to_first_token</c>).</summary>
    public Histogram<double> TimeToFirstToken { get; }

    /// <summary>Mean time per output token after the first, s, one value per generation (<c>gen_ai.server.time_per_output_token</c>).</summary>
    public Histogram<double> TimePerOutputToken { get; }

    /// <summary>Output tokens per generation (<c>gen_ai.client.token.usage</c>, <c>gen_ai.token.type</c> = <c>output</c>).</summary>
    public Histogram<long> TokenUsage { get; }

    /// <summary>Tokens per second after the first token.</summary>
    public Histogram<double> TokensPerSecond { get; }

    /// <summary>Generation duration, ms.</summary>
    public Histogram<double> Duration { get; }

    /// <summary>Running generations.</summary>
    public UpDownCounter<long> Active { get; }

    /// <summary>Accepted generations not yet started.</summary>
    public UpDownCounter<long> Queued { get; }

    /// <summary>Replies taken over from a dead owner and continued here.</summary>
    public Counter<long> Takeovers { get; }

    /// <summary>Completed generations (<c>code</c> = <c>ok</c>).</summary>
    public Counter<long> Completed { get; }

    /// <summary>Cancelled generations (<c>code</c> = <c>cancelled</c>).</summary>
    public Counter<long> Cancelled { get; }

    /// <summary>Failed generations (<c>code</c> = the failure code).</summary>
    public Counter<long> Failed { get; }

    /// <summary>Delta publishes that failed or were skipped.</summary>
    public Counter<long> DeltaPublishFailures { get; }

    /// <summary>
    /// Records the per-generation figures once, at its end: time per output token (s) and output token usage, both with
    /// <c>gen_ai.operation.name</c> = <c>chat</c>.
    /// </summary>
    /// <param name="model">The <c>gen_ai.request.model</c> tag.</param>
    /// <param name="tokens">Chunks received (one per token for the streaming connectors we use).</param>
    /// <param name="outputTokens">Output tokens as the model reported them, else <paramref name="tokens"/>.</param>
    /// <param name="afterFirstToken">Time from the first to the last token.</param>
    public void RecordGeneration(KeyValuePair<string, object?> model, int tokens, int outputTokens, TimeSpan afterFirstToken)
    {
        if (tokens > 1 && afterFirstToken > TimeSpan.Zero)
        {
            TimePerOutputToken.Record(afterFirstToken.TotalSeconds / (tokens - 1), model, new("gen_ai.operation.name", "chat"));
            TokensPerSecond.Record((tokens - 1) / afterFirstToken.TotalSeconds, model);
        }
        if (outputTokens > 0)
        {
            TokenUsage.Record(outputTokens, new TagList { model, { "gen_ai.operation.name", "chat" }, { "gen_ai.token.type", "output" } });
        }
    }

    /// <summary>
    /// Records the end of a generation: duration (ms), per-generation figures (<see cref="RecordGeneration"/>), the outcome
    /// counter with <c>code</c> (<c>ok</c>, <c>cancelled</c>, the failure code, or <c>generation_lost</c> when the lease was
    /// lost), and the outcome on the generation span.
    /// </summary>
    /// <param name="activity">The generation span, if sampled.</param>
    /// <param name="model">The <c>gen_ai.request.model</c> tag.</param>
    /// <param name="outcome">The outcome; <see langword="null"/> when ownership was lost.</param>
    /// <param name="duration">Start to end.</param>
    /// <param name="tokens">Chunks received.</param>
    /// <param name="outputTokens">Output tokens as reported, else <paramref name="tokens"/>.</param>
    /// <param name="afterFirstToken">Time from the first to the last token.</param>
    public void RecordOutcome(
        Activity? activity, KeyValuePair<string, object?> model, MessageOutcome? outcome, TimeSpan duration, int tokens, int outputTokens,
        TimeSpan afterFirstToken)
    {
        var code = outcome switch
        {
            null => FailureCodes.GenerationLost,
            { Status: MessageStatus.Completed } => "ok",
            { Status: MessageStatus.Cancelled } => "cancelled",
            _ => outcome.Code!,
        };
        var tags = new TagList { model, { "code", code } };
        Duration.Record(duration.TotalMilliseconds, tags);
        RecordGeneration(model, tokens, outputTokens, afterFirstToken);
        (outcome?.Status switch
        {
            MessageStatus.Completed => Completed,
            MessageStatus.Cancelled => Cancelled,
            _ => Failed,
        }).Add(1, tags);
        activity?.SetTag("gen_ai.usage.output_tokens", outputTokens);
        activity?.SetTag("aistreaming.generation.outcome", code);
        if (outcome?.Status is not MessageStatus.Completed and not MessageStatus.Cancelled)
        {
            activity?.SetStatus(ActivityStatusCode.Error, code);
        }
    }
}
