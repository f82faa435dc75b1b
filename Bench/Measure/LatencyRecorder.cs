namespace AiStreaming.Bench.Measure;

/// <summary>
/// Latency samples in µs. Each client records into its own <see cref="LatencyRecorder"/> (no locks on the hot path);
/// <see cref="Merge"/> joins them and <see cref="Summary"/> sorts once. Samples beyond <see cref="Capacity"/> replace
/// random earlier ones (reservoir sampling), so percentiles stay unbiased at bounded memory (4 bytes a sample).
/// </summary>
public sealed class LatencyRecorder
{
    /// <summary>Most samples kept per recorder.</summary>
    public const int Capacity = 2_000_000;

    private readonly List<int> _samples = [];
    private readonly Random _random = new(12345);
    private long _seen;

    /// <summary>Samples offered so far (kept or not).</summary>
    public long Count => _seen;

    /// <summary>Records one latency in µs (negative values, from clock granularity, count as 0).</summary>
    public void Record(long us)
    {
        var v = (int)Math.Clamp(us, 0, int.MaxValue);
        _seen++;
        if (_samples.Count < Capacity)
        {
            _samples.Add(v);
        }
        else if (_random.NextInt64(_seen) is var slot && slot < Capacity)
        {
            _samples[(int)slot] = v;
        }
    }

    /// <summary>All samples of <paramref name="recorders"/> in one recorder.</summary>
    public static LatencyRecorder Merge(IEnumerable<LatencyRecorder> recorders)
    {
        var all = new LatencyRecorder();
        foreach (var r in recorders)
        {
            all._samples.AddRange(r._samples);
            all._seen += r._seen;
        }
        return all;
    }

    /// <summary>Percentiles in ms (nearest rank): p50, p95, p99, max, and the sample count.</summary>
    public LatencySummary Summary()
    {
        if (_samples.Count == 0)
        {
            return new LatencySummary(0, 0, 0, 0, 0, 0);
        }
        var sorted = _samples.ToArray();
        Array.Sort(sorted);
        double P(double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)] / 1000.0;
        return new LatencySummary(_seen, P(0.50), P(0.95), P(0.99), sorted[^1] / 1000.0, sorted.Average() / 1000.0);
    }
}

/// <summary>Latency percentiles in milliseconds.</summary>
/// <param name="Samples">Samples recorded.</param>
/// <param name="P50Ms">Median, ms.</param>
/// <param name="P95Ms">95th percentile, ms.</param>
/// <param name="P99Ms">99th percentile, ms.</param>
/// <param name="MaxMs">Largest, ms.</param>
/// <param name="MeanMs">Mean, ms.</param>
public sealed record LatencySummary(long Samples, double P50Ms, double P95Ms, double P99Ms, double MaxMs, double MeanMs);
