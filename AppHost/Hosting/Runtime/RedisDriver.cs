using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace AiStreaming.AppHost.Hosting.Runtime;

/// <summary>
/// Runs <c>redis-server</c> without persistence on the replica's loopback port, with a password (<c>requirepass</c>,
/// generated per run like Aspire's <c>AddRedis</c>) written to a config file only its user can read (never on the
/// command line, where any local user could read it in <c>/proc</c>). As root it runs as the <c>redis</c> user Debian's
/// package creates (else <c>nobody</c>), never as root. Healthy when <c>AUTH</c> + <c>PING</c> gets <c>+PONG</c>.
/// </summary>
internal sealed class RedisDriver(HostContext host, RedisResource resource) : ResourceDriver(host)
{
    private const string PasswordAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    public override string Kind => "Redis";

    public override int StartAttempts => 3;

    /// <summary>The local user redis-server runs as when the AppHost is root.</summary>
    private static string RunAsUser => File.ReadLines("/etc/passwd").Any(l => l.StartsWith("redis:", StringComparison.Ordinal)) ? "redis" : "nobody";

    private string Directory => Path.Combine(Host.DataRoot, resource.Name);

    private string ConfigFile => Path.Combine(Host.DataRoot, $"{resource.Name}.conf");

    /// <summary>A new password: 32 characters from [A-Za-z0-9] (190 bits).</summary>
    public static string CreatePassword() => RandomNumberGenerator.GetString(PasswordAlphabet, 32);

    public override IEnumerable<string> CheckPrerequisites()
    {
        if (HostTools.RedisServer is null)
        {
            yield return $"redis-server was not found (Debian package 'redis-server'), needed by resource '{resource.Name}'. {HostTools.InstallHint}";
        }
    }

    public override Task<ProcessSpec> CreateProcessSpecAsync(ReplicaRuntime replica, CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(Directory);
        // The password goes in a file readable by redis-server's user only.
        File.WriteAllText(ConfigFile, resource.Password is null ? "" : $"requirepass {resource.Password}\n");
        Posix.SetMode(ConfigFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        if (Posix.IsRoot)
        {
            var user = Posix.GetUser(RunAsUser);
            Posix.Chown(ConfigFile, user);
            Posix.Chown(Directory, user);
        }
        string[] args =
        [
            ConfigFile,
            "--port", replica.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            // No RDB snapshots, no AOF: a restart is a data loss, on purpose (tests recover from it).
            "--save", "",
            "--appendonly", "no",
            "--dir", Directory,
            .. resource.ExtraArgs,
        ];
        return Task.FromResult(new ProcessSpec(HostTools.RedisServer!, args, Directory) { RunAsUser = RunAsUser });
    }

    public override async Task<bool> IsHealthyAsync(ReplicaRuntime replica, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", replica.Port, cancellationToken).ConfigureAwait(false);
        var stream = client.GetStream();
        var command = resource.Password is null ? "PING\r\n" : $"AUTH {resource.Password}\r\nPING\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(command), cancellationToken).ConfigureAwait(false);
        var received = new StringBuilder();
        var buffer = new byte[64];
        while (!received.ToString().Contains("+PONG", StringComparison.Ordinal) && !received.ToString().Contains('-', StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                return false;
            }
            received.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }
        return received.ToString().Contains("+PONG", StringComparison.Ordinal);
    }
}
