using System.Globalization;
using AiStreaming.Bench.Measure;
using AiStreaming.Bench.Report;
using AiStreaming.Bench.Stack;

namespace AiStreaming.Bench.Scenarios;

/// <summary>
/// <c>chat</c> (G generations × 1 subscriber) and <c>fanout</c> (G × S): the measured run over an already started
/// stack. Warm-up, then the window: CPU and load sampled at both ends; then drivers stop after their current message.
/// </summary>
public static class ChatScenario
{
    /// <summary>Runs G × S over <paramref name="stack"/> and returns the figures.</summary>
    /// <param name="stack">The running stack.</param>
    /// <param name="options">Options (R, duration, warm-up, protocol, transport, through-web).</param>
    /// <param name="generations">G.</param>
    /// <param name="subscribers">S.</param>
    /// <param name="label">Run label.</param>
    /// <param name="cancellationToken">Aborts the run.</param>
    public static async Task<RunResult> RunAsync(
        BenchStack stack, BenchOptions options, int generations, int subscribers, string label, CancellationToken cancellationToken)
    {
        var result = new RunResult { Label = label, Parameters = Parameters(options, generations, subscribers) };
        await using var load = new GenerationLoad(stack, options, generations, subscribers);
        var setUp = System.Diagnostics.Stopwatch.StartNew();
        await load.SetUpAsync(null, cancellationToken);
        result.Extra["set-up s"] = Math.Round(setUp.Elapsed.TotalSeconds, 1);
        Console.WriteLine($"  {label}: {generations} generations × {subscribers} subscribers connected in {setUp.Elapsed.TotalSeconds:0.0} s; warm-up {options.Warmup.TotalSeconds:0} s, window {options.Duration.TotalSeconds:0} s");

        load.StartDrivers();
        await Task.Delay(options.Warmup, cancellationToken);
        var probes = stack.Probes();
        result.LoadAverageStart = ProcessSampler.LoadAverage1m();
        probes.ForEach(p => p.Start());
        var clientCpu = ProcessSampler.OwnCpuSeconds(Environment.ProcessId);
        load.Window.Open();
        await Task.Delay(options.Duration, cancellationToken);
        load.Window.Close();
        probes.ForEach(p => p.Stop());
        clientCpu = ProcessSampler.OwnCpuSeconds(Environment.ProcessId) - clientCpu;
        // The clients share the 2 cores with the servers: when they saturate, latency is theirs, not the servers'.
        result.Extra["bench client CPU % of one core"] = Math.Round(100 * clientCpu / load.Window.Seconds, 1);
        result.LoadAverageEnd = ProcessSampler.LoadAverage1m();
        await load.StopPostingAsync();

        load.Collect(result);
        result.SetProcesses(probes, options.ThroughWeb ? [] : ["web"]);
        return result;
    }

    /// <summary>Run parameters as strings, for tables and JSON.</summary>
    public static Dictionary<string, string> Parameters(BenchOptions o, int generations, int subscribers)
    {
        var p = new Dictionary<string, string>
        {
            ["G"] = generations.ToString(CultureInfo.InvariantCulture),
            ["S"] = subscribers.ToString(CultureInfo.InvariantCulture),
            ["R"] = o.TokensPerSecond.ToString(CultureInfo.InvariantCulture),
            ["ttft"] = $"{o.ModelTimeToFirstToken.TotalMilliseconds}ms",
            ["tokens"] = $"{o.MinTokens}-{o.MaxTokens}",
            ["duration"] = $"{o.Duration.TotalSeconds}s",
            ["warmup"] = $"{o.Warmup.TotalSeconds}s",
            ["transport"] = o.Transport == "sse" ? "sse" : $"signalr/{o.Protocol}",
            ["via"] = o.ThroughWeb ? "web" : "streamers",
            ["config"] = o.Configuration,
        };
        if (o.Environment.Count > 0)
        {
            p["env"] = string.Join(",", o.Environment.Select(kv => $"{kv.Key}={kv.Value}"));
        }
        return p;
    }
}
