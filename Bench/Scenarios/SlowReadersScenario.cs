using System.Globalization;
using AiStreaming.Bench.Clients;
using AiStreaming.Bench.Measure;
using AiStreaming.Bench.Report;

namespace AiStreaming.Bench.Scenarios;

/// <summary>
/// <c>slow-readers</c>: G generations with one normal SignalR reader each, all on streamer replica 0. Phase 1 (a third of
/// the duration, 5–15 s): normal readers only. Phase 2 (the duration; 60 s unless <c>--duration</c> is given): K raw SSE sockets and K raw WebSockets that
/// subscribe to the same channels on the same replica and never read. Then posting stops and the slow ones read: each
/// must end with the last message's terminal event, directly or after resuming from its last offset, with every offset
/// once and every text equal. Reports the normal readers' p99 in both phases, the replica's RSS every second, when the
/// server closed each slow connection (from <c>/proc/net/tcp</c>, without reading), recoveries and losses.
/// </summary>
public static class SlowReadersScenario
{
    /// <summary>Runs the scenario on its own stack.</summary>
    public static async Task<RunResult> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        var g = options.GenerationsOr(20);
        var k = options.Slow;
        if (!options.DurationGiven)
        {
            // The kernel's socket buffers absorb the first ~30 s of a 40 tokens/s channel; SignalR's client timeout is 30 s.
            options.Duration = TimeSpan.FromSeconds(60);
        }
        var phase1 = TimeSpan.FromSeconds(Math.Clamp(options.Duration.TotalSeconds / 3, 5, 15));
        var result = new RunResult { Label = "slow-readers", Parameters = ChatScenario.Parameters(options, g, 1) };
        result.Parameters["K"] = k.ToString(CultureInfo.InvariantCulture);
        result.Parameters["phase1"] = $"{phase1.TotalSeconds}s";
        await using var stack = await BenchProgram.StartStackAsync(options, null, cancellationToken);
        var target = options.ThroughWeb ? stack.WebUri : stack.StreamerUris[0];
        var streamerPid = stack.StreamerProcessId(0);

        await using var load = new GenerationLoad(stack, options, g, 1);
        await load.SetUpAsync((_, channel, tally) =>
        {
            tally.Timeline = [];
            return new HubSubscriber(target, channel, options.Protocol, tally);
        }, cancellationToken);
        var channels = load.Conversations.Select(c => c.Channel).ToArray();
        var slowWindow = new MeasureWindow(); // never opened: slow clients' tokens are not timed
        var slow = new List<SlowClient>();
        for (var i = 0; i < k; i++)
        {
            slow.Add(new SlowSseClient(target, channels[i % g], new SubscriberTally(slowWindow)));
            slow.Add(new SlowWebSocketClient(target, channels[i % g], new SubscriberTally(slowWindow)));
        }

        load.StartDrivers();
        Console.WriteLine($"  slow-readers: {g} normal readers on {target}; warm-up {options.Warmup.TotalSeconds:0} s, phase 1 {phase1.TotalSeconds:0} s, phase 2 (+{k} SSE +{k} WebSocket never reading) {options.Duration.TotalSeconds:0} s");
        await Task.Delay(options.Warmup, cancellationToken);
        var probes = stack.Probes();
        result.LoadAverageStart = ProcessSampler.LoadAverage1m();
        probes.ForEach(p => p.Start());
        load.Window.Open();
        var phase1Start = Clock.NowUs;
        var rss = new List<(double Seconds, double Mib)>();
        var maxServerQueue = new Dictionary<SlowClient, long>();
        long phase2Start = long.MaxValue;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            while (await timer.WaitForNextTickAsync(sampling.Token).ConfigureAwait(false))
            {
                var now = Clock.NowUs;
                lock (rss) rss.Add((Math.Round((now - phase1Start) / 1e6, 1), Math.Round(ProcessSampler.RssKb(streamerPid) / 1024.0, 1)));
                if (now < Volatile.Read(ref phase2Start)) continue;
                // Only clients connected before the table is read, and seen ESTABLISHED once, can be judged cut off.
                var connected = slow.Where(c => c.LocalPort > 0 && c.CutOffAfterSeconds is null).ToList();
                var tcp = TcpStates.Read();
                foreach (var c in connected)
                {
                    if (tcp.TryGetValue((target.Port, c.LocalPort), out var server) && server.State == TcpStates.Established)
                    {
                        maxServerQueue[c] = Math.Max(maxServerQueue.GetValueOrDefault(c), server.SendQueueBytes);
                    }
                    else if (maxServerQueue.ContainsKey(c))
                    {
                        c.CutOffAfterSeconds = Math.Round((now - phase2Start) / 1e6, 1);
                    }
                }
            }
        });
        try
        {
            await Task.Delay(phase1, cancellationToken);
            Volatile.Write(ref phase2Start, Clock.NowUs);
            await Task.WhenAll(slow.Select(c => c.OpenAsync(cancellationToken)));
            await Task.Delay(options.Duration, cancellationToken);
        }
        finally
        {
            await sampling.CancelAsync();
            await sampler.ContinueWith(_ => { }, TaskScheduler.Default);
        }
        var phase2End = Clock.NowUs;
        load.Window.Close();
        probes.ForEach(p => p.Stop());
        result.LoadAverageEnd = ProcessSampler.LoadAverage1m();
        await load.StopPostingAsync();
        load.Collect(result);
        result.SetProcesses(probes, options.ThroughWeb ? [] : ["web"]);

        // Normal readers' latency by phase (token stamps).
        var timeline = load.Subscribers.SelectMany(s => s.Tally.Timeline!).ToList();
        LatencySummary Phase(long from, long to)
        {
            var r = new LatencyRecorder();
            foreach (var (stamp, latency) in timeline.Where(t => t.StampUs >= from && t.StampUs < to)) r.Record(latency);
            return r.Summary();
        }
        var before = Phase(phase1Start, phase2Start);
        var during = Phase(phase2Start, phase2End);

        Console.WriteLine($"  posting stopped; waking {slow.Count} slow clients");
        var last = Enumerable.Range(0, g).ToDictionary(i => channels[i], i => load.MessagesOf(i).LastOrDefault());
        var done = await Task.WhenAll(slow.Select(c => c.ReadAsync(
            t => last[c.Channel] is var id && t.Messages.TryGetValue(id, out var m) && m.Final is not null, TimeSpan.FromSeconds(90), options.Protocol)));

        var rssPhase2 = rss.Where(x => x.Seconds >= (phase2Start - phase1Start) / 1e6).Select(x => x.Mib).DefaultIfEmpty(0).ToList();
        result.Extra["normal p99 ms phase 1 -> 2"] = $"{ResultPrinter.F(before.P99Ms, 2)} -> {ResultPrinter.F(during.P99Ms, 2)} (rise {ResultPrinter.F(during.P99Ms - before.P99Ms, 2)})";
        result.Extra["normal p50 ms phase 1 -> 2"] = $"{ResultPrinter.F(before.P50Ms, 2)} -> {ResultPrinter.F(during.P50Ms, 2)}";
        result.Extra["streamer RSS MiB phase 1 -> peak phase 2"] = $"{rss.Where(x => x.Seconds < (phase2Start - phase1Start) / 1e6).Select(x => x.Mib).DefaultIfEmpty(0).Max()} -> {rssPhase2.Max()}";
        var cut = slow.GroupBy(c => c.Kind).ToDictionary(x => x.Key, x => x.Where(c => c.CutOffAfterSeconds is not null).Select(c => c.CutOffAfterSeconds!.Value).ToList());
        foreach (var (kind, times) in cut)
        {
            result.Extra[$"{kind} cut off"] = times.Count == 0
                ? $"0 of {k} within {options.Duration.TotalSeconds:0} s"
                : $"{times.Count} of {k}, after {ResultPrinter.F(times.Min(), 1)}..{ResultPrinter.F(times.Max(), 1)} s (median {ResultPrinter.F(times.Order().ElementAt(times.Count / 2), 1)})";
        }
        result.Extra["slow clients ending with the stored text"] = $"{done.Count(d => d)} of {slow.Count} ({slow.Count(c => c.Resumed)} resumed from their last offset)";
        result.Extra["slow raw outcomes"] = string.Join(", ", slow.GroupBy(c => $"{c.Kind}:{c.RawOutcome}").Select(x => $"{x.Key}={x.Count()}"));
        result.Extra["slow lost / duplicated / text diff"] = $"{slow.Sum(c => c.Tally.LostOffsets)} / {slow.Sum(c => c.Tally.DuplicatedOffsets)} / {slow.Sum(c => c.Tally.TextMismatches)}";
        var queueMax = maxServerQueue.Values.DefaultIfEmpty(0).Max();
        result.Extra["slow server send queue max KiB"] = ResultPrinter.F(queueMax / 1024.0, 1);
        // Until the kernel's send buffer of a slow connection is full, the server's own buffers and limits are not reached.
        var wmemMax = File.Exists("/proc/sys/net/ipv4/tcp_wmem") ? long.Parse(File.ReadAllText("/proc/sys/net/ipv4/tcp_wmem").Split('\t', ' ')[^1].Trim(), CultureInfo.InvariantCulture) : 0;
        var rate = queueMax / Math.Max(1, (phase2End - phase2Start) / 1e6);
        result.Extra["kernel send buffer max KiB (tcp_wmem)"] = $"{ResultPrinter.F(wmemMax / 1024.0, 0)}; filled at ~{ResultPrinter.F(rate / 1024.0, 1)} KiB/s, i.e. after ~{(rate > 0 ? ResultPrinter.F(wmemMax / rate, 0) : "-")} s of phase 2";
        result.Extra["streamerRssTimeline"] = rss.Select(x => $"{x.Seconds}s:{x.Mib}").ToList();
        result.Extra["slowClients"] = slow.Select(c => new
        {
            c.Kind, c.Channel, c.LocalPort, c.CutOffAfterSeconds, c.RawOutcome, c.Resumed,
            Lost = c.Tally.LostOffsets, Duplicated = c.Tally.DuplicatedOffsets, TextMismatches = c.Tally.TextMismatches,
            Coalesced = c.Tally.CoalescedFrames, Resubscribes = c.Tally.ResubscribeReasons,
        }).ToList();

        result.LostOffsets += slow.Sum(c => c.Tally.LostOffsets);
        result.DuplicatedOffsets += slow.Sum(c => c.Tally.DuplicatedOffsets);
        result.TextMismatches += slow.Sum(c => c.Tally.TextMismatches);
        result.EpochMismatches += slow.Sum(c => c.Tally.EpochMismatches);
        result.IncompleteMessages += done.Count(d => !d);
        foreach (var c in slow)
        {
            await c.DisposeAsync();
        }
        return result;
    }
}
