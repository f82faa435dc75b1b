namespace AiStreaming.Bench.Measure;

/// <summary>Wall-clock time in Unix microseconds, the unit of the simulated model's token stamps.</summary>
public static class Clock
{
    /// <summary>Now, Unix µs (UTC).</summary>
    public static long NowUs => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) / 10;
}

/// <summary>
/// The measurement window in Unix µs: tokens whose model stamp falls inside it count towards rates and latency; CPU is
/// sampled at its ends. Before <see cref="Open"/> nothing is inside.
/// </summary>
public sealed class MeasureWindow
{
    private long _startUs = long.MaxValue;
    private long _endUs = long.MaxValue;

    /// <summary>Start, Unix µs (<see cref="long.MaxValue"/> until opened).</summary>
    public long StartUs => Volatile.Read(ref _startUs);

    /// <summary>End, Unix µs (<see cref="long.MaxValue"/> until closed).</summary>
    public long EndUs => Volatile.Read(ref _endUs);

    /// <summary>Window length in seconds once closed.</summary>
    public double Seconds => (EndUs - StartUs) / 1e6;

    /// <summary>Opens the window now.</summary>
    public void Open() => Volatile.Write(ref _startUs, Clock.NowUs);

    /// <summary>Closes the window now.</summary>
    public void Close() => Volatile.Write(ref _endUs, Clock.NowUs);

    /// <summary>Whether <paramref name="us"/> (Unix µs) is inside.</summary>
    public bool Contains(long us) => us >= StartUs && us < EndUs;
}
