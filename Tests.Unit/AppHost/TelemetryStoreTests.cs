using AiStreaming.AppHost.Hosting.Dashboard;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Metrics.V1;
using OpenTelemetry.Proto.Trace.V1;
using OtlpResource = OpenTelemetry.Proto.Resource.V1.Resource;

namespace AiStreaming.Tests.AppHost;

/// <summary>The dashboard's OTLP decoding and storage: traces across resources, logs by level and trace, histogram quantiles.</summary>
public class TelemetryStoreTests
{
    private static OtlpResource Resource(string instance) => new()
    {
        Attributes = { new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = instance.Split('-')[0] } },
                       new KeyValue { Key = "service.instance.id", Value = new AnyValue { StringValue = instance } } },
    };

    private static ByteString Id(int length, byte seed) => ByteString.CopyFrom(Enumerable.Repeat(seed, length).ToArray());

    [Fact]
    public void Spans_of_one_trace_from_two_resources_form_one_trace_named_after_its_root()
    {
        var store = new TelemetryStore();
        store.Add([new ResourceSpans { Resource = Resource("api-0"), ScopeSpans = { new ScopeSpans { Spans = {
            new Span { TraceId = Id(16, 1), SpanId = Id(8, 1), Name = "POST /api/messages", Kind = Span.Types.SpanKind.Server, StartTimeUnixNano = 1_000_000_000, EndTimeUnixNano = 1_100_000_000 } } } } }]);
        store.Add([new ResourceSpans { Resource = Resource("streamer-1"), ScopeSpans = { new ScopeSpans { Spans = {
            new Span { TraceId = Id(16, 1), SpanId = Id(8, 2), ParentSpanId = Id(8, 1), Name = "deliver conv:x", Kind = Span.Types.SpanKind.Consumer, StartTimeUnixNano = 1_050_000_000, EndTimeUnixNano = 1_300_000_000 } } } } }]);

        var trace = Assert.Single(store.GetTraces(10, null));
        Assert.Equal("api-0: POST /api/messages", trace.Name);
        Assert.Equal(["api-0", "streamer-1"], trace.Sources);
        Assert.Equal(300, trace.DurationMs, 3);
        Assert.Equal("01010101010101010101010101010101", trace.TraceId);
        Assert.Equal(2, store.GetTrace(trace.TraceId).Count);
        Assert.Single(store.GetTraces(10, "streamer-1"));
        Assert.Empty(store.GetTraces(10, "web-0"));
    }

    [Fact]
    public void Logs_filter_by_resource_minimum_level_and_trace_and_mask_secrets()
    {
        var store = new TelemetryStore();
        store.Add([new ResourceLogs { Resource = Resource("api-0"), ScopeLogs = { new ScopeLogs { Scope = new InstrumentationScope { Name = "Api" }, LogRecords = {
            new LogRecord { TimeUnixNano = 1, SeverityNumber = SeverityNumber.Info, Body = new AnyValue { StringValue = "connected with Password=hunter2;Host=x" }, TraceId = Id(16, 7), SpanId = Id(8, 7) },
            new LogRecord { TimeUnixNano = 2, SeverityNumber = SeverityNumber.Warn, Body = new AnyValue { StringValue = "slow" },
                Attributes = { new KeyValue { Key = "db.password", Value = new AnyValue { StringValue = "hunter2" } }, new KeyValue { Key = "Tokens", Value = new AnyValue { IntValue = 12 } } } },
        } } } }]);

        Assert.Equal(2, store.GetLogs(10, "api-0", null, null).Count);
        var warning = Assert.Single(store.GetLogs(10, null, "Warning", null));
        Assert.Equal(SecretMask.Masked, warning.Attributes["db.password"]);
        Assert.Equal("12", warning.Attributes["Tokens"]);
        var linked = Assert.Single(store.GetLogs(10, null, null, "07070707070707070707070707070707"));
        Assert.DoesNotContain("hunter2", linked.Message, StringComparison.Ordinal);
        Assert.Equal("Information", linked.Level);
        Assert.Empty(store.GetLogs(10, "web-0", null, null));
    }

    [Fact]
    public void Cumulative_histograms_chart_the_quantiles_of_each_interval_and_counters_their_value()
    {
        var store = new TelemetryStore();
        static ResourceMetrics Export(ulong time, ulong[] buckets, long active) => new()
        {
            Resource = Resource("api-0"),
            ScopeMetrics = { new ScopeMetrics { Metrics = {
                new Metric { Name = "gen_ai.server.time_to_first_token", Unit = "s", Histogram = new Histogram {
                    AggregationTemporality = AggregationTemporality.Cumulative,
                    DataPoints = { new HistogramDataPoint { TimeUnixNano = time, Count = (ulong)buckets.Sum(b => (long)b), Sum = 1, ExplicitBounds = { 0.1, 0.2, 0.4 }, BucketCounts = { buckets } } } } },
                new Metric { Name = "aistreaming.generations.active", Sum = new Sum { IsMonotonic = false, AggregationTemporality = AggregationTemporality.Cumulative,
                    DataPoints = { new NumberDataPoint { TimeUnixNano = time, AsInt = active } } } },
            } } },
        };
        store.Metrics.Add([Export(1_000_000_000, [0, 10, 0, 0], 1)], store.NameOf);
        store.Metrics.Add([Export(2_000_000_000, [0, 10, 10, 0], 2)], store.NameOf);
        store.Metrics.Add([Export(3_000_000_000, [0, 10, 10, 0], 0)], store.NameOf);

        var ttft = store.Metrics.Get("gen_ai.server.time_to_first_token", 0)["api-0"];
        Assert.Equal(3, ttft.Length);
        Assert.Equal(0.15, ttft[0].P50!.Value, 6);          // 10 values in (0.1, 0.2]: the median is the bucket's middle
        Assert.Equal(0.3, ttft[1].P50!.Value, 6);           // the second interval only saw 10 values in (0.2, 0.4]
        Assert.Equal(0.39, ttft[1].P95!.Value, 6);
        Assert.Null(ttft[2].P50);                           // nothing recorded in the third interval
        Assert.Equal([1, 2, 0], store.Metrics.Get("aistreaming.generations.active", 0)["api-0"].Select(p => p.Value));
        Assert.Equal(2, store.Metrics.Get("aistreaming.generations.active", 1_500)["api-0"].Length);
    }

    [Theory]
    [InlineData("Host=127.0.0.1;Username=postgres;Password=s3cr3t;Database=messages", "Password=••••••")]
    [InlineData("redis://default:s3cr3t@127.0.0.1:6379", "default:••••••@")]
    [InlineData("Endpoint=https://api.openai.com/v1;Key=s3cr3t;Model=gpt", "Key=••••••")]
    [InlineData("GET /login?t=s3cr3t HTTP/1.1", "t=••••••")]
    public void Secrets_in_text_are_masked(string text, string expected)
    {
        var masked = SecretMask.Mask(text);
        Assert.DoesNotContain("s3cr3t", masked, StringComparison.Ordinal);
        Assert.Contains(expected, masked, StringComparison.Ordinal);
    }
}
