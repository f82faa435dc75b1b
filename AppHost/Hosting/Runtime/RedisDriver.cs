using System.Net.Sockets;
using System.Text;

namespace AiStreaming.AppHost.Hosting.Runtime;

/// <summary>Runs <c>redis-server</c> without persistence on the replica's loopback port; healthy when <c>PING</c> gets <c>+PONG</c>.</summary>
internal sealed class RedisDriver(HostContext host, RedisResource resource) : ResourceDriver(host)
{
    public override string Kind => "Redis";

    public override int StartAttempts => 3;

    public override IEnumerable<string> CheckPrerequisites()
    {
        if (HostTools.RedisServer is null)
        {
            yield return $"redis-server was not found (Debian package 'redis-server'), needed by resource '{resource.Name}'. {HostTools.InstallHint}";
        }
    }

    public override Task<ProcessSpec> CreateProcessSpecAsync(ReplicaRuntime replica, CancellationToken cancellationToken)
    {
        var dir = Path.Combine(Host.DataRoot, resource.Name);
        Directory.CreateDirectory(dir);
        string[] args =
        [
            "--port", replica.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            // No RDB snapshots, no AOF: a restart is a data loss, on purpose (tests recover from it).
            "--save", "",
            "--appendonly", "no",
            "--dir", dir,
            .. resource.ExtraArgs,
        ];
        return Task.FromResult(new ProcessSpec(HostTools.RedisServer!, args, dir));
    }

    public override async Task<bool> IsHealthyAsync(ReplicaRuntime replica, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", replica.Port, cancellationToken).ConfigureAwait(false);
        var stream = client.GetStream();
        await stream.WriteAsync("PING\r\n"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        var buffer = new byte[64];
        var read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
    }
}
