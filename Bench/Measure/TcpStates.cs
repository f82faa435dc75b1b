using System.Globalization;

namespace AiStreaming.Bench.Measure;

/// <summary>
/// TCP connection states from <c>/proc/net/tcp</c> and <c>/proc/net/tcp6</c> (proc(5)), to see without reading when a
/// server closed a slow client's connection: the server's side leaves ESTABLISHED (FIN_WAIT1 while its unsent data
/// waits behind the client's full window, or gone after a reset).
/// </summary>
public static class TcpStates
{
    /// <summary>The ESTABLISHED state code.</summary>
    public const int Established = 1;

    /// <summary>State and send queue (bytes) of each loopback connection, keyed by (local port, remote port).</summary>
    public static Dictionary<(int Local, int Remote), (int State, long SendQueueBytes)> Read()
    {
        var map = new Dictionary<(int, int), (int, long)>();
        foreach (var file in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(file)) continue;
            foreach (var line in File.ReadLines(file).Skip(1))
            {
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 5) continue;
                var local = Port(f[1]);
                var remote = Port(f[2]);
                var state = int.Parse(f[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                var tx = long.Parse(f[4].Split(':')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                map[(local, remote)] = (state, tx);
            }
        }
        return map;
    }

    private static int Port(string address) =>
        int.Parse(address[(address.LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
