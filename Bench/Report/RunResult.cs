using AiStreaming.Bench.Measure;

namespace AiStreaming.Bench.Report;

/// <summary>The figures of one measured run (one scenario, or one half of <c>compare</c>). Units are in the names.</summary>
public sealed class RunResult
{
    /// <summary>Run label: the scenario, or <c>baseline</c>/<c>chat</c> inside <c>compare</c>.</summary>
    public required string Label { get; init; }

    /// <summary>Parameters (G, S, R, duration, protocol, env …) as given.</summary>
    public Dictionary<string, string> Parameters { get; init; } = [];

    /// <summary>When the run started (UTC).</summary>
    public DateTimeOffset StartedAt { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>1-minute load average at the window start.</summary>
    public double LoadAverageStart { get; set; }

    /// <summary>1-minute load average at the window end.</summary>
    public double LoadAverageEnd { get; set; }

    /// <summary>Measurement window, s.</summary>
    public double WindowSeconds { get; set; }

    /// <summary>Tokens the model emitted with a stamp inside the window (stamps counted in terminal texts).</summary>
    public long OfferedTokens { get; set; }

    /// <summary>Token deliveries owed: offered tokens × subscribers per generation.</summary>
    public long OfferedDeliveries { get; set; }

    /// <summary>Token deliveries received (stamps in deltas, inside the window, over all subscribers).</summary>
    public long DeliveredTokens { get; set; }

    /// <summary>Offered tokens per second (model output).</summary>
    public double OfferedTokensPerSecond => WindowSeconds > 0 ? OfferedTokens / WindowSeconds : 0;

    /// <summary>Delivered tokens per second (all subscribers).</summary>
    public double DeliveredTokensPerSecond => WindowSeconds > 0 ? DeliveredTokens / WindowSeconds : 0;

    /// <summary>Delta frames received inside the window.</summary>
    public long DeltaFrames { get; set; }

    /// <summary>Delta frames per second received (all subscribers).</summary>
    public double FramesPerSecond => WindowSeconds > 0 ? DeltaFrames / WindowSeconds : 0;

    /// <summary>Delivered tokens per delta frame: the Api's rollup (and any coalescing for slow readers); 1 for the toy.</summary>
    public double TokensPerFrame => DeltaFrames > 0 ? DeliveredTokens / (double)DeltaFrames : 0;

    /// <summary>Model stamp → client receive, per token, ms.</summary>
    public LatencySummary Latency { get; set; } = new(0, 0, 0, 0, 0, 0);

    /// <summary>TTFT added over the model's own: (first delta received − request sent) − model TTFT, ms.</summary>
    public LatencySummary TtftAdded { get; set; } = new(0, 0, 0, 0, 0, 0);

    /// <summary>Messages completed (whole run, per generation; warm-up included).</summary>
    public long Messages { get; set; }

    /// <summary>Offsets lost (whole run, all subscribers): must be 0.</summary>
    public long LostOffsets { get; set; }

    /// <summary>Offsets received twice (whole run, all subscribers): must be 0.</summary>
    public long DuplicatedOffsets { get; set; }

    /// <summary>Messages whose deltas differ from their terminal text (per subscriber): must be 0.</summary>
    public long TextMismatches { get; set; }

    /// <summary>Messages a subscriber saw start but never end, or a driver timed out on: must be 0.</summary>
    public long IncompleteMessages { get; set; }

    /// <summary>Events of an unexpected epoch: must be 0.</summary>
    public long EpochMismatches { get; set; }

    /// <summary>Resubscriptions (resubscribe frames or reconnects) and how many were not recovered.</summary>
    public long Resubscribes { get; set; }

    /// <summary>Subscriptions answered <c>recovered: false</c> after the first.</summary>
    public long Unrecovered { get; set; }

    /// <summary>Delta frames that carried <c>fromOffset</c> (coalesced for a slow reader).</summary>
    public long CoalescedFrames { get; set; }

    /// <summary>Presence frames received over all subscribers.</summary>
    public long PresenceFrames { get; set; }

    /// <summary>Subscribers (connections holding a subscription).</summary>
    public long Subscribers { get; set; }

    /// <summary>Server processes: CPU over the window, per 1k delivered tokens, RSS.</summary>
    public List<ProcessRow> Processes { get; } = [];

    /// <summary>Sum of CPU s per 1k delivered tokens over the serving processes (Web excluded unless clients go through it).</summary>
    public double CpuSecondsPer1kTokens { get; set; }

    /// <summary>Which processes <see cref="CpuSecondsPer1kTokens"/> sums.</summary>
    public string CpuSumOf { get; set; } = "";

    /// <summary>Scenario-specific figures.</summary>
    public Dictionary<string, object> Extra { get; } = [];

    /// <summary>Whether every delivery was exact (nothing lost, duplicated, different or unfinished).</summary>
    public bool Exact => LostOffsets == 0 && DuplicatedOffsets == 0 && TextMismatches == 0 && IncompleteMessages == 0 && EpochMismatches == 0;

    /// <summary>Fills <see cref="Processes"/> and <see cref="CpuSecondsPer1kTokens"/> from stopped probes.</summary>
    /// <param name="probes">Probes stopped at the window end.</param>
    /// <param name="excluded">Process names left out of the sum (reported anyway), e.g. <c>web</c> (also every <c>web#i</c>).</param>
    public void SetProcesses(IEnumerable<ProcessProbe> probes, params string[] excluded)
    {
        var k = DeliveredTokens / 1000.0;
        foreach (var p in probes)
        {
            Processes.Add(new ProcessRow(p.Name, p.Pid, p.CpuSeconds, k > 0 ? p.CpuSeconds / k : 0, p.RssKb / 1024.0, p.PeakRssKb / 1024.0,
                excluded.Contains(p.Name.Split('#')[0]) ? "excluded" : "summed"));
        }
        var summed = Processes.Where(p => p.InSum == "summed").ToList();
        CpuSecondsPer1kTokens = summed.Sum(p => p.CpuSecondsPer1kTokens);
        CpuSumOf = string.Join("+", summed.Select(p => p.Name));
    }
}

/// <summary>One server process (tree) over the window.</summary>
/// <param name="Name">Name, e.g. <c>streamer#0</c>.</param>
/// <param name="Pid">Root pid.</param>
/// <param name="CpuSeconds">utime+stime over the window, s.</param>
/// <param name="CpuSecondsPer1kTokens">CPU s per 1000 delivered tokens.</param>
/// <param name="RssMb">RSS at the window end, MiB (tree).</param>
/// <param name="PeakRssMb">Peak RSS of the root process, MiB.</param>
/// <param name="InSum"><c>summed</c> or <c>excluded</c> from the CPU sum.</param>
public sealed record ProcessRow(string Name, int Pid, double CpuSeconds, double CpuSecondsPer1kTokens, double RssMb, double PeakRssMb, string InSum);
