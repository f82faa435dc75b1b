using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AiStreaming.Tests.Infrastructure;

namespace AiStreaming.Tests.Streamer;

/// <summary>
/// A <c>redis-server</c> of one test's own, on a free loopback port, that the test can kill and start again on the same
/// port and data (append-only file fsynced on every write, so a kill loses nothing): outages without disturbing the
/// shared <see cref="ServersFixture"/>.
/// </summary>
public sealed class OwnRedis : IAsyncDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"aistreaming-redis-{Guid.NewGuid():N}");
    private Process? _process;

    /// <summary>The loopback port.</summary>
    public int Port { get; } = FreePort();

    /// <summary>StackExchange.Redis configuration with short timeouts.</summary>
    public string ConnectionString => $"127.0.0.1:{Port},abortConnect=false,connectTimeout=1000,syncTimeout=1000,asyncTimeout=1000";

    /// <summary>Starts a server.</summary>
    public static async Task<OwnRedis> StartNewAsync()
    {
        var redis = new OwnRedis();
        Directory.CreateDirectory(redis._dir);
        await redis.StartAsync();
        return redis;
    }

    /// <summary>Starts the server (again) and waits until it listens.</summary>
    public async Task StartAsync()
    {
        _process = Process.Start(new ProcessStartInfo("redis-server",
            ["--port", Port.ToString(), "--bind", "127.0.0.1", "--dir", _dir, "--appendonly", "yes", "--appendfsync", "always", "--save", ""])
        {
            RedirectStandardOutput = true,
        })!;
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        await Eventually.UntilAsync(() =>
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, Port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(10), "redis-server to listen");
    }

    /// <summary>Kills the server (SIGKILL): its clients see their connections closed.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            _process.WaitForExit();
        }
        _process?.Dispose();
        _process = null;
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
        return ValueTask.CompletedTask;
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
