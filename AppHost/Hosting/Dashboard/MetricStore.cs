using OpenTelemetry.Proto.Metrics.V1;

namespace AiStreaming.AppHost.Hosting.Dashboard;

/// <summary>
/// Metric time series for the dashboard's charts, one per (resource, metric name), at most <see cref="PointCapacity"/> points each.
/// Every export adds one point: for a histogram the p50 and p95 of the values recorded since the previous export (cumulative
/// bucket counts are differenced per attribute set, then summed across attribute sets; quantiles are interpolated linearly inside
/// the bucket, as Prometheus' <c>histogram_quantile</c> does), the count and sum of that interval; for a sum or gauge the total of
/// its data points' values (an up-down counter gives its current value).
/// </summary>
internal sealed class MetricStore
{
    public const int PointCapacity = 900;

    private readonly Lock _gate = new();
    private readonly Dictionary<(string Source, string Metric), Series> _series = [];
    private readonly Dictionary<(string Source, string Metric, string Attributes), (ulong Count, double Sum, ulong[] Buckets)> _last = [];

    public void Add(IEnumerable<ResourceMetrics> batch, Func<OpenTelemetry.Proto.Resource.V1.Resource?, string> nameOf)
    {
        lock (_gate)
        {
            foreach (var rm in batch)
            {
                var source = nameOf(rm.Resource);
                foreach (var metric in rm.ScopeMetrics.SelectMany(s => s.Metrics))
                {
                    var point = metric.DataCase switch
                    {
                        Metric.DataOneofCase.Histogram => HistogramPoint(source, metric),
                        Metric.DataOneofCase.Sum => NumberPoint(metric.Sum.DataPoints),
                        Metric.DataOneofCase.Gauge => NumberPoint(metric.Gauge.DataPoints),
                        _ => null,
                    };
                    if (point is null)
                    {
                        continue;
                    }
                    if (!_series.TryGetValue((source, metric.Name), out var series))
                    {
                        _series[(source, metric.Name)] = series = new Series(metric.Unit, metric.DataCase.ToString());
                    }
                    series.Points.Enqueue(point);
                    if (series.Points.Count > PointCapacity)
                    {
                        series.Points.Dequeue();
                    }
                }
            }
        }
    }

    /// <summary>Metric names and units per resource.</summary>
    public IReadOnlyList<MetricInfo> List()
    {
        lock (_gate)
        {
            return [.. _series.OrderBy(s => s.Key.Metric, StringComparer.Ordinal).ThenBy(s => s.Key.Source, StringComparer.Ordinal)
                .Select(s => new MetricInfo(s.Key.Source, s.Key.Metric, s.Value.Unit, s.Value.Kind, s.Value.Points.Count))];
        }
    }

    /// <summary>The points of <paramref name="metric"/> for every resource that reports it, newer than <paramref name="sinceUnixMs"/>.</summary>
    public IReadOnlyDictionary<string, MetricPoint[]> Get(string metric, long sinceUnixMs)
    {
        lock (_gate)
        {
            return _series.Where(s => s.Key.Metric == metric)
                .ToDictionary(s => s.Key.Source, s => s.Value.Points.Where(p => p.TimeUnixMs > sinceUnixMs).ToArray(), StringComparer.Ordinal);
        }
    }

    private MetricPoint? HistogramPoint(string source, Metric metric)
    {
        var histogram = metric.Histogram;
        if (histogram.DataPoints.Count == 0)
        {
            return null;
        }
        var bounds = histogram.DataPoints[0].ExplicitBounds.ToArray();
        var merged = new ulong[bounds.Length + 1];
        ulong count = 0;
        double sum = 0;
        long time = 0;
        foreach (var dp in histogram.DataPoints)
        {
            time = Math.Max(time, (long)(dp.TimeUnixNano / 1_000_000));
            if (dp.BucketCounts.Count != merged.Length)
            {
                continue;
            }
            var buckets = dp.BucketCounts.ToArray();
            var (dCount, dSum, dBuckets) = (dp.Count, dp.Sum, buckets);
            if (histogram.AggregationTemporality == AggregationTemporality.Cumulative)
            {
                var key = (source, metric.Name, string.Join(',', dp.Attributes.Select(a => a.Key + "=" + TelemetryStore.Text(a.Value))));
                if (_last.TryGetValue(key, out var last) && last.Count <= dp.Count && last.Buckets.Length == buckets.Length)
                {
                    dCount = dp.Count - last.Count;
                    dSum = dp.Sum - last.Sum;
                    dBuckets = [.. buckets.Select((b, i) => b - Math.Min(b, last.Buckets[i]))];
                }
                _last[key] = (dp.Count, dp.Sum, buckets);
            }
            count += dCount;
            sum += dSum;
            for (var i = 0; i < merged.Length; i++)
            {
                merged[i] += dBuckets[i];
            }
        }
        return new MetricPoint(time, count == 0 ? null : Quantile(bounds, merged, count, 0.5), count == 0 ? null : Quantile(bounds, merged, count, 0.95),
            count == 0 ? null : sum / count, count, sum);
    }

    private static MetricPoint? NumberPoint(IReadOnlyCollection<NumberDataPoint> points)
    {
        if (points.Count == 0)
        {
            return null;
        }
        var value = points.Sum(p => p.ValueCase == NumberDataPoint.ValueOneofCase.AsInt ? p.AsInt : p.AsDouble);
        return new MetricPoint((long)(points.Max(p => p.TimeUnixNano) / 1_000_000), null, null, value, 0, value);
    }

    /// <summary>The <paramref name="q"/>-quantile from explicit buckets (upper bounds <paramref name="bounds"/>, plus +Inf).</summary>
    internal static double Quantile(double[] bounds, ulong[] buckets, ulong count, double q)
    {
        var rank = q * count;
        double seen = 0;
        for (var i = 0; i < buckets.Length; i++)
        {
            if (seen + buckets[i] >= rank && buckets[i] > 0)
            {
                var lower = i == 0 ? 0 : bounds[i - 1];
                var upper = i < bounds.Length ? bounds[i] : lower; // +Inf bucket: its lower bound
                return lower + (upper - lower) * ((rank - seen) / buckets[i]);
            }
            seen += buckets[i];
        }
        return bounds.Length > 0 ? bounds[^1] : 0;
    }

    private sealed class Series(string unit, string kind)
    {
        public string Unit { get; } = unit;

        public string Kind { get; } = kind;

        public Queue<MetricPoint> Points { get; } = new();
    }
}

/// <summary>A metric reported by a resource.</summary>
internal sealed record MetricInfo(string Source, string Name, string Unit, string Kind, int Points);

/// <summary>
/// One export's point, at Unix ms. Histograms: <see cref="P50"/>, <see cref="P95"/>, <see cref="Value"/> (mean), <see cref="Count"/>
/// and <see cref="Sum"/> over the interval, in the metric's unit. Sums and gauges: <see cref="Value"/>.
/// </summary>
internal sealed record MetricPoint(long TimeUnixMs, double? P50, double? P95, double? Value, ulong Count, double Sum);
