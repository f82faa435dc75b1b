using System.Net;
using System.Net.Sockets;

namespace AiStreaming.AppHost.Hosting.Runtime;

/// <summary>Hands out free loopback TCP ports, never the same one twice in this process.</summary>
internal static class PortAllocator
{
    private static readonly HashSet<int> Given = [];

    /// <summary>Binds 127.0.0.1:0, reads the port the kernel chose, releases it. A port handed out before is skipped, so two
    /// resources of one process (or two applications in one test run) never share one.</summary>
    public static int GetFreePort()
    {
        lock (Given)
        {
            while (true)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                listener.Stop();
                if (Given.Add(port))
                {
                    return port;
                }
            }
        }
    }

    /// <summary>Reserves a fixed port asked for by the AppHost so free-port allocation skips it.</summary>
    public static int Reserve(int port)
    {
        lock (Given)
        {
            Given.Add(port);
            return port;
        }
    }
}
