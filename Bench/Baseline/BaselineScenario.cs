using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.ServerSentEvents;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using AiStreaming.Bench.Clients;
using AiStreaming.Bench.Measure;
using AiStreaming.Bench.Report;
using AiStreaming.Bench.Scenarios;

namespace AiStreaming.Bench.Baseline;

/// <summary>
/// <c>baseline</c>: G workers each stream replies back to back from <see cref="BaselineServer"/> (its own process) over
/// SSE with <see cref="HttpClient"/>, measured exactly like <c>chat</c>: stamps → latency, first event → TTFT added,
/// the concatenated events against the final <c>done</c> text, the server process's CPU over the window.
/// </summary>
public static class BaselineScenario
{
    /// <summary>Starts the baseline server, runs the load, stops the server; returns the figures.</summary>
    public static async Task<RunResult> RunAsync(BenchOptions options, int generations, CancellationToken cancellationToken)
    {
        var port = FreePort();
        using var server = StartServer(options, port);
        try
        {
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue })
            {
                BaseAddress = new Uri($"http://127.0.0.1:{port}"),
                Timeout = Timeout.InfiniteTimeSpan,
            };
            await WaitHealthyAsync(http, server, cancellationToken);
            Console.WriteLine($"  baseline: server pid {server.Id} on port {port}; {generations} generations; warm-up {options.Warmup.TotalSeconds:0} s, window {options.Duration.TotalSeconds:0} s");
            return await MeasureAsync(options, generations, http, server.Id, cancellationToken);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync(CancellationToken.None);
        }
    }

    private static async Task<RunResult> MeasureAsync(BenchOptions options, int generations, HttpClient http, int pid, CancellationToken cancellationToken)
    {
        var result = new RunResult { Label = "baseline", Parameters = ChatScenario.Parameters(options, generations, 1) };
        result.Parameters["transport"] = "direct sse";
        result.Parameters["via"] = "direct";
        var window = new MeasureWindow();
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, generations).Select(_ => new Worker(window, options)).ToList();
        var tasks = workers.Select(w => Task.Run(() => w.RunAsync(http, stop.Token), CancellationToken.None)).ToList();

        await Task.Delay(options.Warmup, cancellationToken);
        var probe = new ProcessProbe("baseline", pid);
        result.LoadAverageStart = ProcessSampler.LoadAverage1m();
        probe.Start();
        window.Open();
        await Task.Delay(options.Duration, cancellationToken);
        window.Close();
        probe.Stop();
        result.LoadAverageEnd = ProcessSampler.LoadAverage1m();
        await stop.CancelAsync();
        await Task.WhenAll(tasks);

        result.WindowSeconds = window.Seconds;
        result.Subscribers = generations;
        result.OfferedTokens = workers.Sum(w => w.Offered);
        result.OfferedDeliveries = result.OfferedTokens;
        result.DeliveredTokens = workers.Sum(w => w.Delivered);
        result.DeltaFrames = workers.Sum(w => w.Frames);
        result.Messages = workers.Sum(w => w.Messages);
        result.TextMismatches = workers.Sum(w => w.Mismatches);
        result.IncompleteMessages = workers.Sum(w => w.Errors);
        result.Latency = LatencyRecorder.Merge(workers.Select(w => w.Latency)).Summary();
        result.TtftAdded = LatencyRecorder.Merge(workers.Select(w => w.Ttft)).Summary();
        result.SetProcesses([probe]);
        return result;
    }

    private static Process StartServer(BenchOptions options, int port)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
        {
            typeof(BaselineServer).Assembly.Location, "baseline-server", "--urls", $"http://127.0.0.1:{port}",
            "--tokens-per-second", options.TokensPerSecond.ToString(CultureInfo.InvariantCulture),
            "--ttft", $"{options.ModelTimeToFirstToken.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms",
            "--min-tokens", options.MinTokens.ToString(CultureInfo.InvariantCulture),
            "--max-tokens", options.MaxTokens.ToString(CultureInfo.InvariantCulture),
        })
        {
            start.ArgumentList.Add(a);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the baseline server.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"  [baseline] {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitHealthyAsync(HttpClient http, Process server, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var response = await http.GetAsync("/health", cancellationToken);
                if (response.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) when (clock.Elapsed < TimeSpan.FromSeconds(60) && !server.HasExited)
            {
            }
            await Task.Delay(100, cancellationToken);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>One generation: replies streamed back to back.</summary>
    private sealed class Worker(MeasureWindow window, BenchOptions options)
    {
        public LatencyRecorder Latency { get; } = new();
        public LatencyRecorder Ttft { get; } = new();
        public long Offered, Delivered, Frames, Messages, Mismatches, Errors;

        public async Task RunAsync(HttpClient http, CancellationToken stop)
        {
            var modelTtftUs = (long)options.ModelTimeToFirstToken.TotalMicroseconds;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var sent = Clock.NowUs;
                    using var response = await http.GetAsync("/stream", HttpCompletionOption.ResponseHeadersRead, CancellationToken.None);
                    response.EnsureSuccessStatusCode();
                    await using var body = await response.Content.ReadAsStreamAsync(CancellationToken.None);
                    var text = new StringBuilder();
                    string? final = null;
                    await foreach (var item in SseParser.Create(body, (_, b) => Encoding.UTF8.GetString(b)).EnumerateAsync(CancellationToken.None))
                    {
                        var now = Clock.NowUs;
                        var chunk = JsonDocument.Parse(item.Data).RootElement.GetProperty("text").GetString() ?? "";
                        if (item.EventType == "done")
                        {
                            final = chunk;
                            break;
                        }
                        if (text.Length == 0 && window.Contains(sent))
                        {
                            Ttft.Record(now - sent - modelTtftUs);
                        }
                        text.Append(chunk);
                        var counted = Delivered;
                        foreach (var range in chunk.AsSpan().Split(' '))
                        {
                            if (long.TryParse(chunk.AsSpan(range), NumberStyles.None, CultureInfo.InvariantCulture, out var stamp) && window.Contains(stamp))
                            {
                                Frames += Delivered == counted ? 1 : 0;
                                Delivered++;
                                Latency.Record(now - stamp);
                            }
                        }
                    }
                    Messages++;
                    Offered += SubscriberTally.CountStampsIn(final, window);
                    if (final is null || !text.Equals(final.AsSpan())) Mismatches++;
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException or JsonException)
                {
                    Errors++;
                    await Task.Delay(200, CancellationToken.None);
                }
            }
        }
    }
}
