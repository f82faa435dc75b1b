using System.Globalization;
using System.Text.RegularExpressions;

namespace AiStreaming.Bench.Measure;

/// <summary>
/// CPU time and memory of server processes from <c>/proc</c> (proc(5)). A process is measured with all its descendants
/// (found through the <c>ppid</c> field of <c>/proc/*/stat</c>), so PostgreSQL's postmaster counts its backends:
/// CPU = utime+stime+cutime+cstime of the root and of every live descendant (a child that exited was reaped by its
/// parent and moved into the parent's cutime/cstime, so nothing is lost or counted twice). Clock ticks per second from
/// <c>getconf CLK_TCK</c> (normally 100, so CPU resolution is 10 ms).
/// </summary>
public static partial class ProcessSampler
{
    private static readonly Lazy<double> TicksPerSecond = new(ReadClockTicks);

    /// <summary>CPU seconds (user+system, self and descendants) of <paramref name="pid"/>'s process tree; 0 when it is gone.</summary>
    public static double CpuSeconds(int pid)
    {
        var table = ReadTable();
        long ticks = 0;
        foreach (var p in Tree(table, pid))
        {
            ticks += table[p].CpuTicks;
        }
        return ticks / TicksPerSecond.Value;
    }

    /// <summary>
    /// Resident memory of the tree in KB: VmRSS of a lone process; for a tree (PostgreSQL's backends share its buffers),
    /// the sum of each process's proportional set size (Pss in <c>/proc/{pid}/smaps_rollup</c>), so shared pages count once.
    /// </summary>
    public static long RssKb(int pid)
    {
        var tree = Tree(ReadTable(), pid).ToList();
        return tree.Count == 1 ? StatusKb(pid, "VmRSS") : tree.Sum(p => FieldKb($"/proc/{p}/smaps_rollup", "Pss"));
    }

    /// <summary>CPU seconds (utime+stime) of <paramref name="pid"/> alone, without descendants (e.g. the bench's own client work).</summary>
    public static double OwnCpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(f[11], CultureInfo.InvariantCulture) + long.Parse(f[12], CultureInfo.InvariantCulture)) / TicksPerSecond.Value;
    }

    /// <summary>Peak resident set size of the root process alone in KB (VmHWM).</summary>
    public static long PeakRssKb(int pid) => StatusKb(pid, "VmHWM");

    /// <summary>The 1-minute load average (<c>/proc/loadavg</c>).</summary>
    public static double LoadAverage1m()
    {
        var text = File.ReadAllText("/proc/loadavg");
        return double.Parse(text.Split(' ')[0], CultureInfo.InvariantCulture);
    }

    /// <summary>Clock ticks per second used for CPU figures.</summary>
    public static double ClockTicksPerSecond => TicksPerSecond.Value;

    private static IEnumerable<int> Tree(Dictionary<int, (int Ppid, long CpuTicks)> table, int root)
    {
        if (!table.ContainsKey(root))
        {
            yield break;
        }
        var children = table.GroupBy(kv => kv.Value.Ppid).ToDictionary(g => g.Key, g => g.Select(kv => kv.Key).ToList());
        var stack = new Stack<int>([root]);
        while (stack.TryPop(out var p))
        {
            yield return p;
            foreach (var c in children.GetValueOrDefault(p) ?? [])
            {
                stack.Push(c);
            }
        }
    }

    private static Dictionary<int, (int Ppid, long CpuTicks)> ReadTable()
    {
        var table = new Dictionary<int, (int, long)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                // Fields after "(comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime
                var f = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var ppid = int.Parse(f[1], CultureInfo.InvariantCulture);
                long Field(int i) => long.Parse(f[i], CultureInfo.InvariantCulture);
                table[pid] = (ppid, Field(11) + Field(12) + Field(13) + Field(14));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                // the process exited while we read it
            }
        }
        return table;
    }

    private static long StatusKb(int pid, string key) => FieldKb($"/proc/{pid}/status", key);

    private static long FieldKb(string path, string key)
    {
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                if (line.StartsWith(key + ":", StringComparison.Ordinal))
                {
                    return long.Parse(Digits().Match(line).Value, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
        return 0;
    }

    private static double ReadClockTicks()
    {
        try
        {
            using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("getconf", "CLK_TCK") { RedirectStandardOutput = true });
            var text = p!.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return double.Parse(text, CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or FormatException or InvalidOperationException)
        {
            return 100;
        }
    }

    [GeneratedRegex(@"\d+")]
    private static partial Regex Digits();
}

/// <summary>A named server process (tree) whose CPU is measured over a window: <see cref="Start"/>, then <see cref="Stop"/>.</summary>
/// <param name="Name">Row name, e.g. <c>streamer#0</c>.</param>
/// <param name="Pid">Root process id.</param>
public sealed record ProcessProbe(string Name, int Pid)
{
    private double _cpuAtStart;

    /// <summary>CPU seconds used inside the window (after <see cref="Stop"/>).</summary>
    public double CpuSeconds { get; private set; }

    /// <summary>RSS at the end of the window, KB (tree).</summary>
    public long RssKb { get; private set; }

    /// <summary>Peak RSS of the root process, KB (VmHWM, since it started).</summary>
    public long PeakRssKb { get; private set; }

    /// <summary>Samples the CPU at the window start.</summary>
    public void Start() => _cpuAtStart = ProcessSampler.CpuSeconds(Pid);

    /// <summary>Samples CPU and memory at the window end.</summary>
    public void Stop()
    {
        CpuSeconds = ProcessSampler.CpuSeconds(Pid) - _cpuAtStart;
        RssKb = ProcessSampler.RssKb(Pid);
        PeakRssKb = ProcessSampler.PeakRssKb(Pid);
    }
}
