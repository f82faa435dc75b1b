using System.Diagnostics;
using AiStreaming.Bench.Clients;
using AiStreaming.Bench.Measure;
using AiStreaming.Bench.Report;

namespace AiStreaming.Bench.Scenarios;

/// <summary>
/// <c>connections</c>: N idle SignalR connections (WebSockets, negotiation skipped) to ONE streamer replica, each holding
/// one subscription, N/100 subscribers per channel (at least 1 channel). Reports the replica's RSS before, right after
/// and after a 10 s steady state, KB per connection, the time to connect all, the replica's idle CPU, and presence
/// frames received (N subscribers joining a channel cost O(N) frames if only joins after one's own are seen, O(N²) in all
/// when every join reaches every earlier subscriber).
/// </summary>
/// <remarks>
/// Limits: each connection is one socket in this process and one in the streamer, so both need
/// <c>ulimit -n</c> above N (plus a few hundred); loopback connections to one port also need N ephemeral ports
/// (<c>/proc/sys/net/ipv4/ip_local_port_range</c>, about 28 000 by default).
/// </remarks>
public static class ConnectionsScenario
{
    private const int PerChannel = 100;

    /// <summary>Starts the stack, opens the connections, measures, closes them.</summary>
    public static async Task<RunResult> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var n = options.Connections;
        var result = new RunResult { Label = "connections", Parameters = ChatScenario.Parameters(options, 0, 0) };
        result.Parameters["N"] = n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        result.Extra["ulimit -n (bench)"] = OpenFilesLimit("self");
        if (n + 200 > OpenFilesLimit("self"))
        {
            Console.Error.WriteLine($"  warning: {n} connections need about {n + 200} file descriptors; ulimit -n is {OpenFilesLimit("self")}");
        }
        await using var stack = await BenchProgram.StartStackAsync(options, null, cancellationToken);
        var streamerPid = stack.StreamerProcessId(0);
        result.Extra["ulimit -n (streamer)"] = OpenFilesLimit(streamerPid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var uri = options.ThroughWeb ? stack.WebUri : stack.StreamerUris[0];
        var channels = Enumerable.Range(0, Math.Max(1, n / PerChannel)).Select(_ => $"conv:{Guid.NewGuid():D}").ToArray();

        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
        var rssBefore = ProcessSampler.RssKb(streamerPid);
        result.LoadAverageStart = ProcessSampler.LoadAverage1m();
        var window = new MeasureWindow();
        var clients = new List<HubSubscriber>(n);
        for (var i = 0; i < n; i++)
        {
            clients.Add(new HubSubscriber(uri, channels[i % channels.Length], options.Protocol, new SubscriberTally(window)));
        }
        Console.WriteLine($"  connections: opening {n} to {uri} ({channels.Length} channels), streamer#0 RSS {rssBefore / 1024.0:0.0} MiB");
        var clock = Stopwatch.StartNew();
        var failed = 0;
        using (var gate = new SemaphoreSlim(100))
        {
            await Task.WhenAll(clients.Select(async c =>
            {
                await gate.WaitAsync(cancellationToken);
                try { await c.StartAsync(cancellationToken); }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    if (Interlocked.Increment(ref failed) <= 3) Console.Error.WriteLine($"  connect failed: {ex.GetType().Name}: {ex.Message}");
                }
                finally { gate.Release(); }
            }));
        }
        var connectSeconds = clock.Elapsed.TotalSeconds;
        var rssAfter = ProcessSampler.RssKb(streamerPid);
        // --duration lengthens the steady state, e.g. to take a dotnet-gcdump of the streamer (pid printed here).
        var steady = options.DurationGiven ? options.Duration : TimeSpan.FromSeconds(10);
        Console.WriteLine($"  connected {n - failed} in {connectSeconds:0.0} s; RSS {rssAfter / 1024.0:0.0} MiB; steady state for {steady.TotalSeconds:0} s (streamer pid {streamerPid})");

        var probe = new ProcessProbe("streamer#0", streamerPid);
        probe.Start();
        window.Open();
        await Task.Delay(steady, cancellationToken);
        window.Close();
        probe.Stop();
        var rssSteady = ProcessSampler.RssKb(streamerPid);
        result.LoadAverageEnd = ProcessSampler.LoadAverage1m();
        result.WindowSeconds = window.Seconds;

        var connected = n - failed;
        var k = n / (double)channels.Length;
        result.Subscribers = connected;
        result.PresenceFrames = clients.Sum(c => c.Tally.PresenceFrames);
        result.Resubscribes = clients.Sum(c => c.Tally.Subscriptions - 1 + c.Reconnects);
        result.Extra["connect failures"] = failed;
        result.Extra["reconnects"] = clients.Sum(c => c.Reconnects);
        result.Extra["time to connect all s"] = Math.Round(connectSeconds, 2);
        result.Extra["connections per s"] = Math.Round(connected / connectSeconds, 1);
        result.Extra["streamer RSS before MiB"] = Math.Round(rssBefore / 1024.0, 1);
        result.Extra["streamer RSS after MiB"] = Math.Round(rssAfter / 1024.0, 1);
        result.Extra["streamer RSS steady MiB"] = Math.Round(rssSteady / 1024.0, 1);
        result.Extra["KB per connection (after)"] = Math.Round((rssAfter - rssBefore) / (double)Math.Max(1, connected), 2);
        result.Extra["KB per connection (steady)"] = Math.Round((rssSteady - rssBefore) / (double)Math.Max(1, connected), 2);
        result.Extra["streamer idle CPU % (steady)"] = Math.Round(100 * probe.CpuSeconds / window.Seconds, 1);
        result.Extra["presence frames per subscriber"] = Math.Round(result.PresenceFrames / (double)Math.Max(1, connected), 1);
        result.Extra["presence frames if O(N): k per channel"] = Math.Round(k * channels.Length, 0);
        result.Extra["presence frames if O(N^2): k(k+1)/2 per channel"] = Math.Round(k * (k + 1) / 2 * channels.Length, 0);
        result.Processes.Add(new ProcessRow("streamer#0", streamerPid, probe.CpuSeconds, 0, rssSteady / 1024.0, probe.PeakRssKb / 1024.0, "idle"));
        if (failed > 0)
        {
            result.IncompleteMessages += failed; // a subscription that never started is a failure of the scenario
        }

        Console.WriteLine("  closing connections…");
        using (var gate = new SemaphoreSlim(200))
        {
            await Task.WhenAll(clients.Select(async c =>
            {
                await gate.WaitAsync(CancellationToken.None);
                try { await c.DisposeAsync(); }
                finally { gate.Release(); }
            }));
        }
        return result;
    }

    /// <summary>The soft "Max open files" limit of a process (<c>/proc/{pid}/limits</c>), or -1.</summary>
    public static long OpenFilesLimit(string pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
            var soft = line?["Max open files".Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
            return long.TryParse(soft, out var v) ? v : -1;
        }
        catch (IOException)
        {
            return -1;
        }
    }
}
