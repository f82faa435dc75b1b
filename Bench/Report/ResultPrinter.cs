using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AiStreaming.Bench.Report;

/// <summary>Fixed-width tables on stdout and the JSON results file.</summary>
public static class ResultPrinter
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>Formats a number with invariant culture.</summary>
    public static string F(double value, int decimals = 1) => value.ToString("N" + decimals, CultureInfo.InvariantCulture);

    /// <summary>Prints one run as a table of figures and a table of processes.</summary>
    public static void Print(RunResult r, TextWriter? output = null)
    {
        var w = output ?? Console.Out;
        var rows = new List<(string, string)>
        {
            ("parameters", string.Join(" ", r.Parameters.Select(kv => $"{kv.Key}={kv.Value}"))),
            ("window", $"{F(r.WindowSeconds)} s, load avg 1m {F(r.LoadAverageStart, 2)} -> {F(r.LoadAverageEnd, 2)}"),
            ("tokens offered", $"{r.OfferedTokens} ({F(r.OfferedTokensPerSecond)}/s); deliveries owed {r.OfferedDeliveries}"),
            ("tokens delivered", $"{r.DeliveredTokens} ({F(r.DeliveredTokensPerSecond)}/s) to {r.Subscribers} subscribers"),
            ("delta frames", $"{r.DeltaFrames} ({F(r.FramesPerSecond)}/s), coalesced {r.CoalescedFrames}; {r.TokensPerFrame:0.00} tokens per frame (rollup)"),
            ("latency ms", Lat(r.Latency)),
            ("TTFT added ms", Lat(r.TtftAdded)),
            ("messages", $"{r.Messages}"),
            ("lost / duplicated", $"{r.LostOffsets} / {r.DuplicatedOffsets}"),
            ("text diff / incomplete", $"{r.TextMismatches} / {r.IncompleteMessages} (epoch mismatches {r.EpochMismatches})"),
            ("resubscribes", $"{r.Resubscribes} (unrecovered {r.Unrecovered})"),
            ("presence frames", $"{r.PresenceFrames} ({F(r.Subscribers > 0 ? (double)r.PresenceFrames / r.Subscribers : 0)} per subscriber)"),
            ("CPU s / 1k tokens", $"{F(r.CpuSecondsPer1kTokens, 4)} (sum of {r.CpuSumOf})"),
        };
        rows.AddRange(r.Extra.Select(kv => (kv.Key, Format(kv.Value))));
        w.WriteLine();
        w.WriteLine($"== {r.Label} {(r.Exact ? "(exact)" : "(NOT EXACT)")}");
        var width = rows.Max(x => x.Item1.Length) + 2;
        foreach (var (k, v) in rows)
        {
            w.WriteLine($"  {k.PadRight(width)}{v}");
        }
        if (r.Processes.Count > 0)
        {
            w.WriteLine();
            w.WriteLine($"  {"process",-12}{"pid",8}{"CPU s",10}{"CPU s/1k tok",14}{"RSS MiB",10}{"peak MiB",10}  sum");
            foreach (var p in r.Processes)
            {
                w.WriteLine($"  {p.Name,-12}{p.Pid,8}{F(p.CpuSeconds, 2),10}{F(p.CpuSecondsPer1kTokens, 4),14}{F(p.RssMb),10}{F(p.PeakRssMb),10}  {p.InSum}");
            }
        }
    }

    /// <summary>Prints chat ÷ baseline ratios.</summary>
    public static Dictionary<string, double> PrintRatios(RunResult baseline, RunResult chat, TextWriter? output = null)
    {
        var w = output ?? Console.Out;
        static double Ratio(double a, double b) => b > 0 ? a / b : double.NaN;
        var ratios = new Dictionary<string, double>
        {
            ["cpuPer1kTokens"] = Ratio(chat.CpuSecondsPer1kTokens, baseline.CpuSecondsPer1kTokens),
            ["latencyP50"] = Ratio(chat.Latency.P50Ms, baseline.Latency.P50Ms),
            ["latencyP99"] = Ratio(chat.Latency.P99Ms, baseline.Latency.P99Ms),
            ["ttftAddedP50"] = Ratio(chat.TtftAdded.P50Ms, baseline.TtftAdded.P50Ms),
            ["deliveredTokensPerSecond"] = Ratio(chat.DeliveredTokensPerSecond, baseline.DeliveredTokensPerSecond),
            ["framesPerSecond"] = Ratio(chat.FramesPerSecond, baseline.FramesPerSecond),
        };
        w.WriteLine();
        w.WriteLine("== chat ÷ baseline (same run, same G and R)");
        foreach (var (k, v) in ratios)
        {
            w.WriteLine($"  {k,-26}{F(v, 3)}");
        }
        w.WriteLine($"  {"latency ms (chat/base)",-26}p50 {F(chat.Latency.P50Ms, 2)}/{F(baseline.Latency.P50Ms, 2)}  p99 {F(chat.Latency.P99Ms, 2)}/{F(baseline.Latency.P99Ms, 2)}");
        w.WriteLine($"  {"TTFT added ms (chat/base)",-26}p50 {F(chat.TtftAdded.P50Ms, 2)}/{F(baseline.TtftAdded.P50Ms, 2)}  p95 {F(chat.TtftAdded.P95Ms, 2)}/{F(baseline.TtftAdded.P95Ms, 2)}");
        return ratios;
    }

    /// <summary>
    /// The <c>speeds</c> summary: per model pace, CPU per delivered token of the toy and the stack and their ratio, the
    /// tokens per frame that rollup achieved, latency, and the load average of the chat window.
    /// </summary>
    /// <param name="pairs">Per pace R (tokens per second): the toy's run and the stack's.</param>
    /// <param name="output">Where to write (default: the console).</param>
    public static void PrintSpeeds(IReadOnlyList<(double R, RunResult Baseline, RunResult Chat)> pairs, TextWriter? output = null)
    {
        var w = output ?? Console.Out;
        w.WriteLine();
        w.WriteLine("== speeds (CPU ms per delivered token; ratio = stack ÷ toy in the same run)");
        w.WriteLine($"  {"R",5} {"toy",8} {"stack",8} {"ratio",6} {"tokens/frame",13} {"p50 ms",8} {"p99 ms",8} {"TTFT+ p50",10} {"load",12}");
        foreach (var (r, toy, chat) in pairs)
        {
            var ratio = toy.CpuSecondsPer1kTokens > 0 ? chat.CpuSecondsPer1kTokens / toy.CpuSecondsPer1kTokens : double.NaN;
            w.WriteLine($"  {F(r, 0),5} {F(toy.CpuSecondsPer1kTokens, 4),8} {F(chat.CpuSecondsPer1kTokens, 4),8} {F(ratio, 2),6} {F(chat.TokensPerFrame, 2),13} " +
                $"{F(chat.Latency.P50Ms, 1),8} {F(chat.Latency.P99Ms, 1),8} {F(chat.TtftAdded.P50Ms, 1),10} {F(chat.LoadAverageStart, 1) + "→" + F(chat.LoadAverageEnd, 1),12}");
        }
    }

    /// <summary>Writes <paramref name="document"/> as indented camelCase JSON to <paramref name="path"/> (or the default path); returns the path.</summary>
    public static string WriteJson(object document, string scenario, string? path)
    {
        path ??= Path.Combine("bench-results", $"{scenario}-{DateTime.UtcNow:yyyyMMdd-HHmmss}.json");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, JsonSerializer.Serialize(document, Json), new UTF8Encoding(false));
        return path;
    }

    private static string Lat(Measure.LatencySummary s) =>
        $"p50 {F(s.P50Ms, 2)}  p95 {F(s.P95Ms, 2)}  p99 {F(s.P99Ms, 2)}  max {F(s.MaxMs, 1)}  (n={s.Samples})";

    private static string Format(object value) => value switch
    {
        double d => F(d, 2),
        string s => s,
        System.Collections.IEnumerable e => $"(in the JSON file, {e.Cast<object>().Count()} items)",
        _ => value.ToString() ?? "",
    };
}
