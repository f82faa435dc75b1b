using System.Diagnostics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Root sampler that drops client spans without a parent — background polling such as outbox and lease queries, presence
/// refreshes and YARP's active health probes — so the trace list shows operations, not a trace per poll. Everything else is
/// sampled. Used under <see cref="ParentBasedSampler"/>, so children follow their parent's decision.
/// </summary>
public sealed class RootClientSpanSampler : Sampler
{
    /// <inheritdoc/>
    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters) =>
        samplingParameters.Kind == ActivityKind.Client && samplingParameters.ParentContext == default
            ? new SamplingResult(SamplingDecision.Drop)
            : new SamplingResult(SamplingDecision.RecordAndSample);
}
