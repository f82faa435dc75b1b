using System.Diagnostics.Metrics;

namespace AiStreaming.Api.Generation;

/// <summary>
/// Generation instruments on the <c>AiStreaming.Api</c> meter. Durations are in milliseconds; the outcome counters
/// carry a <c>code</c> tag (<c>ok</c>, <c>cancelled</c>, or the failure code) and all carry <c>gen_ai.request.model</c>.
/// </summary>
public sealed class GenerationMetrics
{
    /// <summary>Creates the instruments.</summary>
    /// <param name="meterFactory">Meter factory (the meter is named <see cref="ApiTelemetry.Name"/>).</param>
    public GenerationMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(ApiTelemetry.Name);
        TimeToFirstToken = meter.CreateHistogram<double>("aistreaming.generation.ttft", "ms", "Time from the start of the model call to the first token.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [25, 50, 100, 250, 500, 750, 1000, 2500, 5000, 10000, 30000] });
        InterTokenLatency = meter.CreateHistogram<double>("aistreaming.generation.itl", "ms", "Time between consecutive tokens.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000] });
        TokensPerSecond = meter.CreateHistogram<double>("aistreaming.generation.tokens_per_second", "{token}/s", "Output rate of a generation after its first token.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 5, 10, 20, 40, 80, 160, 320, 640, 1280] });
        Duration = meter.CreateHistogram<double>("aistreaming.generation.duration", "ms", "Duration of a generation, start to terminal state.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [100, 250, 500, 1000, 2500, 5000, 10000, 20000, 30000, 60000, 120000, 300000] });
        Active = meter.CreateUpDownCounter<long>("aistreaming.generation.active", "{generation}", "Generations running in this process.");
        Completed = meter.CreateCounter<long>("aistreaming.generation.completed", "{generation}", "Generations that completed.");
        Cancelled = meter.CreateCounter<long>("aistreaming.generation.cancelled", "{generation}", "Generations cancelled by a user.");
        Failed = meter.CreateCounter<long>("aistreaming.generation.failed", "{generation}", "Generations that failed (timeouts, model errors, lost owners).");
        DeltaPublishFailures = meter.CreateCounter<long>("aistreaming.generation.delta_publish_failures", "{attempt}", "Delta publishes that failed or were skipped because Redis was unavailable (text kept for the next flush).");
    }

    /// <summary>Time to first token, ms.</summary>
    public Histogram<double> TimeToFirstToken { get; }

    /// <summary>Inter-token latency, ms.</summary>
    public Histogram<double> InterTokenLatency { get; }

    /// <summary>Tokens per second after the first token.</summary>
    public Histogram<double> TokensPerSecond { get; }

    /// <summary>Generation duration, ms.</summary>
    public Histogram<double> Duration { get; }

    /// <summary>Running generations.</summary>
    public UpDownCounter<long> Active { get; }

    /// <summary>Completed generations (<c>code</c> = <c>ok</c>).</summary>
    public Counter<long> Completed { get; }

    /// <summary>Cancelled generations (<c>code</c> = <c>cancelled</c>).</summary>
    public Counter<long> Cancelled { get; }

    /// <summary>Failed generations (<c>code</c> = the failure code).</summary>
    public Counter<long> Failed { get; }

    /// <summary>Delta publishes that failed or were skipped.</summary>
    public Counter<long> DeltaPublishFailures { get; }
}
