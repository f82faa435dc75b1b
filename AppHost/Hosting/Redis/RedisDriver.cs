using System.Globalization;
using System.Security.Cryptography;
using AiStreaming.AppHost.Hosting.Runtime;

namespace AiStreaming.AppHost.Hosting;

/// <summary>
/// Runs <c>redis-server</c> without persistence on each replica's loopback port, with a password (<c>requirepass</c> and
/// <c>masterauth</c>, generated per run like Aspire's <c>AddRedis</c>) in a config file only its user can read (never on a
/// command line, where any local user could read it in <c>/proc</c>). As root it runs as the <c>redis</c> user Debian's
/// package creates (else <c>nobody</c>). In a cluster each replica is a master with <c>--cluster-enabled yes</c>; once all
/// answer, <c>redis-cli --cluster create</c> (password through <c>REDISCLI_AUTH</c>) assigns the slots.
/// </summary>
internal sealed class RedisDriver(HostContext host, RedisResource resource) : ResourceDriver(host)
{
    private const string PasswordAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private static readonly TimeSpan ClusterFormTimeout = TimeSpan.FromSeconds(30);

    // Set once the slots are assigned: from then on a node is healthy only when it sees the cluster as ok.
    private volatile bool _clusterCreated;
    private int _prepared;

    public override string Kind => resource.IsCluster ? "Redis Cluster" : "Redis";

    public override int StartAttempts => 3;

    /// <summary>The local user redis-server runs as when the AppHost is root.</summary>
    private static string RunAsUser => File.ReadLines("/etc/passwd").Any(l => l.StartsWith("redis:", StringComparison.Ordinal)) ? "redis" : "nobody";

    private string ConfigFile => Path.Combine(Host.DataRoot, $"{resource.Name}.conf");

    /// <summary>A new password: 32 characters from [A-Za-z0-9] (190 bits).</summary>
    public static string CreatePassword() => RandomNumberGenerator.GetString(PasswordAlphabet, 32);

    public override IEnumerable<string> CheckPrerequisites()
    {
        if (HostTools.FindOnPath("redis-server") is null || resource.IsCluster && HostTools.FindOnPath("redis-cli") is null)
        {
            yield return $"redis-server/redis-cli were not found (Debian package 'redis-server'), needed by resource '{resource.Name}'. {HostTools.InstallHint}";
        }
    }

    public override Task PrepareAsync(ResourceRuntime runtime, Action<string> log, CancellationToken cancellationToken)
    {
        // A cluster node's nodes.conf names the ports of an earlier run: start every application with a new cluster.
        if (Interlocked.Exchange(ref _prepared, 1) == 0 && resource.IsCluster && Directory.Exists(Path.Combine(Host.DataRoot, resource.Name)))
        {
            Directory.Delete(Path.Combine(Host.DataRoot, resource.Name), recursive: true);
        }
        // Written before any node reads it, and only when it changes: nodes starting together never see it half-written.
        var config = resource.Password is null ? "" : $"requirepass {resource.Password}\nmasterauth {resource.Password}\n";
        if (!File.Exists(ConfigFile) || File.ReadAllText(ConfigFile) != config)
        {
            File.WriteAllText(ConfigFile, config);
            Posix.SetMode(ConfigFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            if (Posix.IsRoot)
            {
                Posix.Chown(ConfigFile, Posix.GetUser(RunAsUser));
            }
        }
        return Task.CompletedTask;
    }

    public override Task<ProcessSpec> CreateProcessSpecAsync(ReplicaRuntime replica, CancellationToken cancellationToken)
    {
        var directory = resource.IsCluster
            ? Path.Combine(Host.DataRoot, resource.Name, replica.Index.ToString(CultureInfo.InvariantCulture))
            : Path.Combine(Host.DataRoot, resource.Name);
        Directory.CreateDirectory(directory);
        if (Posix.IsRoot)
        {
            Posix.Chown(directory, Posix.GetUser(RunAsUser));
        }
        string[] args =
        [
            ConfigFile,
            "--port", replica.Port.ToString(CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            // No RDB snapshots, no AOF: a restart is a data loss, on purpose (tests recover from it).
            "--save", "",
            "--appendonly", "no",
            "--dir", directory,
            .. resource.IsCluster ? (string[])["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"] : [],
        ];
        return Task.FromResult(new ProcessSpec(HostTools.FindOnPath("redis-server")!, args, directory) { RunAsUser = RunAsUser });
    }

    public override async Task<bool> IsHealthyAsync(ReplicaRuntime replica, CancellationToken cancellationToken)
    {
        if (await RedisWire.CommandAsync(replica.Port, resource.Password, ["PING"], cancellationToken).ConfigureAwait(false) != "+PONG")
        {
            return false;
        }
        return !_clusterCreated || await IsClusterOkAsync(replica.Port, cancellationToken).ConfigureAwait(false);
    }

    public override async Task OnResourceHealthyAsync(ResourceRuntime runtime, Action<string> log, CancellationToken cancellationToken)
    {
        if (!resource.IsCluster || _clusterCreated)
        {
            return;
        }
        var nodes = runtime.Replicas.Select(r => $"127.0.0.1:{r.Port}");
        var spec = new ProcessSpec(HostTools.FindOnPath("redis-cli")!, ["--cluster", "create", .. nodes, "--cluster-replicas", "0", "--cluster-yes"], Host.DataRoot)
        {
            Environment = resource.Password is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["REDISCLI_AUTH"] = resource.Password },
        };
        var (exitCode, output) = await ProcessRunner.RunToCompletionAsync(spec, log, cancellationToken).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new DistributedApplicationException(
                $"redis-cli --cluster create for '{resource.Name}' failed with exit code {exitCode}:{Environment.NewLine}{string.Join(Environment.NewLine, output.TakeLast(30))}");
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ClusterFormTimeout);
        foreach (var replica in runtime.Replicas)
        {
            while (!await IsClusterOkAsync(replica.Port, timeout.Token).ConfigureAwait(false))
            {
                await Task.Delay(100, timeout.Token).ConfigureAwait(false);
            }
        }
        _clusterCreated = true;
    }

    private async Task<bool> IsClusterOkAsync(int port, CancellationToken cancellationToken) =>
        (await RedisWire.CommandAsync(port, resource.Password, ["CLUSTER", "INFO"], cancellationToken).ConfigureAwait(false))
            ?.Contains("cluster_state:ok", StringComparison.Ordinal) == true;
}
