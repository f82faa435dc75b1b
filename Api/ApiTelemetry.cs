using System.Diagnostics;

namespace AiStreaming.Api;

/// <summary>
/// The Api's telemetry names: one <see cref="System.Diagnostics.ActivitySource"/> and one
/// <see cref="System.Diagnostics.Metrics.Meter"/>, both called <see cref="Name"/> (instruments live in
/// <see cref="Generation.GenerationMetrics"/>).
/// </summary>
public static class ApiTelemetry
{
    /// <summary>Name of the Api's ActivitySource and Meter: <c>AiStreaming.Api</c>.</summary>
    public const string Name = "AiStreaming.Api";

    /// <summary>Source of the Api's own spans (generation, outbox relay, lease sweep).</summary>
    public static ActivitySource ActivitySource { get; } = new(Name);
}
