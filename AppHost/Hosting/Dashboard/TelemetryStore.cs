using System.Globalization;
using Google.Protobuf;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Trace.V1;
using OtlpResource = OpenTelemetry.Proto.Resource.V1.Resource;

namespace AiStreaming.AppHost.Hosting.Dashboard;

/// <summary>
/// Decoded OTLP spans and log records, bounded in memory: the newest <see cref="SpanCapacity"/> spans and
/// <see cref="LogCapacity"/> log records are kept (oldest dropped first), so a long run never grows the AppHost.
/// Resources are named by <c>service.instance.id</c> (the AppHost sets <c>{name}-{replica}</c>), else <c>service.name</c>.
/// Thread-safe: exports arrive concurrently from every service.
/// </summary>
internal sealed class TelemetryStore
{
    public const int SpanCapacity = 20_000;
    public const int LogCapacity = 10_000;
    private const int MaxAttributes = 32;

    private readonly Lock _gate = new();
    private readonly Queue<SpanRecord> _spans = new();
    private readonly Dictionary<string, List<SpanRecord>> _traces = new(StringComparer.Ordinal);
    private readonly Queue<LogRecordView> _logs = new();
    private long _logSequence;

    /// <summary>Metric series, fed by the same exports.</summary>
    public MetricStore Metrics { get; } = new();

    /// <summary>Names of every resource that exported anything, e.g. <c>api-0</c>.</summary>
    public IReadOnlyCollection<string> Sources => [.. _sources.Keys.Order(StringComparer.Ordinal)];

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _sources = new(StringComparer.Ordinal);

    /// <summary>The display name of an OTLP resource: <c>service.instance.id</c>, else <c>service.name</c>, else <c>unknown</c>.</summary>
    public string NameOf(OtlpResource? resource)
    {
        string? service = null, instance = null;
        foreach (var a in resource?.Attributes ?? [])
        {
            if (a.Key == "service.instance.id")
            {
                instance = a.Value.StringValue;
            }
            else if (a.Key == "service.name")
            {
                service = a.Value.StringValue;
            }
        }
        var name = instance is { Length: > 0 } ? instance : service is { Length: > 0 } ? service : "unknown";
        _sources.TryAdd(name, 0);
        return name;
    }

    public void Add(IEnumerable<ResourceSpans> batch)
    {
        var records = new List<SpanRecord>();
        foreach (var rs in batch)
        {
            var source = NameOf(rs.Resource);
            foreach (var ss in rs.ScopeSpans)
            {
                foreach (var s in ss.Spans)
                {
                    records.Add(new SpanRecord(
                        Hex(s.TraceId), Hex(s.SpanId), s.ParentSpanId.IsEmpty ? null : Hex(s.ParentSpanId), s.Name,
                        s.Kind.ToString().Replace("Unspecified", "Internal", StringComparison.Ordinal), source, ss.Scope?.Name ?? "",
                        (long)s.StartTimeUnixNano, (long)s.EndTimeUnixNano,
                        s.Status?.Code == Status.Types.StatusCode.Error, s.Status?.Message,
                        Attributes(s.Attributes),
                        [.. s.Events.Select(e => new SpanEventView(e.Name, (long)e.TimeUnixNano))],
                        [.. s.Links.Select(l => new SpanLinkView(Hex(l.TraceId), Hex(l.SpanId)))]));
                }
            }
        }
        lock (_gate)
        {
            foreach (var r in records)
            {
                _spans.Enqueue(r);
                if (!_traces.TryGetValue(r.TraceId, out var list))
                {
                    _traces[r.TraceId] = list = [];
                }
                list.Add(r);
                while (_spans.Count > SpanCapacity)
                {
                    var old = _spans.Dequeue();
                    if (_traces.TryGetValue(old.TraceId, out var oldList) && oldList.Remove(old) && oldList.Count == 0)
                    {
                        _traces.Remove(old.TraceId);
                    }
                }
            }
        }
    }

    public void Add(IEnumerable<ResourceLogs> batch)
    {
        var records = new List<LogRecordView>();
        foreach (var rl in batch)
        {
            var source = NameOf(rl.Resource);
            foreach (var sl in rl.ScopeLogs)
            {
                foreach (var l in sl.LogRecords)
                {
                    var time = l.TimeUnixNano != 0 ? l.TimeUnixNano : l.ObservedTimeUnixNano;
                    var category = sl.Scope?.Name is { Length: > 0 } scope ? scope : l.EventName;
                    records.Add(new LogRecordView(0, (long)time, source, category ?? "", Level(l.SeverityNumber, l.SeverityText),
                        SecretMask.Mask(Text(l.Body)), l.TraceId.IsEmpty ? null : Hex(l.TraceId), l.SpanId.IsEmpty ? null : Hex(l.SpanId),
                        Attributes(l.Attributes)));
                }
            }
        }
        lock (_gate)
        {
            foreach (var r in records)
            {
                _logs.Enqueue(r with { Id = ++_logSequence });
                if (_logs.Count > LogCapacity)
                {
                    _logs.Dequeue();
                }
            }
        }
    }

    /// <summary>The newest traces first: root name, services, span count, start (Unix ms) and duration (ms).</summary>
    public IReadOnlyList<TraceSummary> GetTraces(int limit, string? source)
    {
        lock (_gate)
        {
            return [.. _traces
                .Select(t => Summarize(t.Key, t.Value))
                .Where(t => source is null || t.Sources.Contains(source))
                .OrderByDescending(t => t.StartUnixMs)
                .Take(limit)];
        }
    }

    /// <summary>Every span of one trace, ordered by start time, or an empty list.</summary>
    public IReadOnlyList<SpanRecord> GetTrace(string traceId)
    {
        lock (_gate)
        {
            return _traces.TryGetValue(traceId, out var spans) ? [.. spans.OrderBy(s => s.StartUnixNano)] : [];
        }
    }

    /// <summary>The newest log records first, filtered by resource, minimum level and trace.</summary>
    public IReadOnlyList<LogRecordView> GetLogs(int limit, string? source, string? minLevel, string? traceId)
    {
        var min = Array.IndexOf(Levels, minLevel ?? "Trace");
        lock (_gate)
        {
            return [.. _logs.Reverse()
                .Where(l => (source is null || l.Source == source) && Array.IndexOf(Levels, l.Level) >= min && (traceId is null || l.TraceId == traceId))
                .Take(limit)];
        }
    }

    /// <summary>Level names from least to most severe (Microsoft.Extensions.Logging's, mapped from OTLP severity numbers).</summary>
    public static readonly string[] Levels = ["Trace", "Debug", "Information", "Warning", "Error", "Critical"];

    private static TraceSummary Summarize(string traceId, List<SpanRecord> spans)
    {
        var ids = spans.Select(s => s.SpanId).ToHashSet(StringComparer.Ordinal);
        var root = spans.Where(s => s.ParentSpanId is null || !ids.Contains(s.ParentSpanId)).MinBy(s => s.StartUnixNano) ?? spans[0];
        var start = spans.Min(s => s.StartUnixNano);
        var end = spans.Max(s => s.EndUnixNano);
        return new TraceSummary(traceId, $"{root.Source}: {root.Name}", [.. spans.Select(s => s.Source).Distinct().Order(StringComparer.Ordinal)],
            spans.Count, spans.Any(s => s.Error), start / 1_000_000, (end - start) / 1e6);
    }

    private static string Level(SeverityNumber number, string text) => (int)number switch
    {
        0 => Array.Find(Levels, l => l.Equals(text, StringComparison.OrdinalIgnoreCase)) ?? "Information",
        <= 4 => "Trace",
        <= 8 => "Debug",
        <= 12 => "Information",
        <= 16 => "Warning",
        <= 20 => "Error",
        _ => "Critical",
    };

    private static Dictionary<string, string> Attributes(IEnumerable<KeyValue> attributes)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var a in attributes)
        {
            if (result.Count >= MaxAttributes)
            {
                break;
            }
            result[a.Key] = SecretMask.IsSecretKey(a.Key) ? SecretMask.Masked : SecretMask.Mask(Text(a.Value));
        }
        return result;
    }

    /// <summary>An OTLP value as display text (arrays and maps joined, bytes as hex).</summary>
    internal static string Text(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
        AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.BytesValue => Convert.ToHexStringLower(value.BytesValue.Span),
        AnyValue.ValueOneofCase.ArrayValue => "[" + string.Join(", ", value.ArrayValue.Values.Select(Text)) + "]",
        AnyValue.ValueOneofCase.KvlistValue => "{" + string.Join(", ", value.KvlistValue.Values.Select(kv => kv.Key + ": " + Text(kv.Value))) + "}",
        _ => "",
    };

    private static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.Span);
}

/// <summary>One span. Times are Unix nanoseconds; <see cref="Source"/> is the exporting resource (e.g. <c>streamer-1</c>).</summary>
internal sealed record SpanRecord(
    string TraceId, string SpanId, string? ParentSpanId, string Name, string Kind, string Source, string Scope,
    long StartUnixNano, long EndUnixNano, bool Error, string? StatusMessage,
    IReadOnlyDictionary<string, string> Attributes, IReadOnlyList<SpanEventView> Events, IReadOnlyList<SpanLinkView> Links);

/// <summary>A span event at a Unix-nanosecond time.</summary>
internal sealed record SpanEventView(string Name, long TimeUnixNano);

/// <summary>A span link to another trace's span.</summary>
internal sealed record SpanLinkView(string TraceId, string SpanId);

/// <summary>One trace in the list: start in Unix ms, duration in ms.</summary>
internal sealed record TraceSummary(string TraceId, string Name, IReadOnlyList<string> Sources, int Spans, bool Error, long StartUnixMs, double DurationMs);

/// <summary>One structured log record (<see cref="Id"/> increases with arrival; time in Unix nanoseconds).</summary>
internal sealed record LogRecordView(
    long Id, long TimeUnixNano, string Source, string Category, string Level, string Message, string? TraceId, string? SpanId,
    IReadOnlyDictionary<string, string> Attributes);
