using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace AiStreaming.AppHost.LocalServers;

/// <summary>
/// A Redis server run from Debian's <c>redis-server</c> as an executable resource: loopback only, no persistence
/// (<c>save ""</c>, <c>appendonly no</c>, so a restart loses every key, as the outage tests want), a generated password
/// from the secret parameter <c>{name}-password</c>, written to <c>redis.conf</c> in its data folder rather than on
/// the command line, for the default user, whose ACL denies <c>CONFIG</c>, <c>MODULE</c> and <c>DEBUG</c>. As root it runs as Debian's <c>redis</c> user (through <c>setpriv</c>, which execs, so DCP signals
/// Redis itself), never as root.
/// </summary>
/// <param name="name">Resource name; referencing projects get <c>ConnectionStrings__{name}</c>.</param>
/// <param name="command">The program DCP starts: <c>setpriv</c> as root, else <c>redis-server</c>.</param>
/// <param name="workingDirectory">The data folder: <c>redis.conf</c>, and <c>nodes.conf</c> in a cluster.</param>
/// <param name="password">The default user's password (and <c>masterauth</c>).</param>
public sealed class RedisServerResource(string name, string command, string workingDirectory, ParameterResource password)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    /// <summary>The endpoint name of the Redis port.</summary>
    public const string EndpointName = "tcp";

    /// <summary>The password parameter.</summary>
    public ParameterResource Password { get; } = password;

    /// <summary>The Redis port (not proxied: cluster nodes announce their own port).</summary>
    public EndpointReference PrimaryEndpoint => new(this, EndpointName);

    /// <summary>The other masters when this server is the first node of a Redis Cluster (<see cref="LocalRedis.ClusterSwitch"/>).</summary>
    internal List<RedisServerResource> OtherClusterNodes { get; } = [];

    /// <summary>
    /// The StackExchange.Redis configuration string: <c>127.0.0.1:{port},password={password}</c>; in a cluster, every
    /// master's <c>127.0.0.1:{port}</c> before the password.
    /// </summary>
    public ReferenceExpression ConnectionStringExpression => OtherClusterNodes is [var second, var third]
        ? ReferenceExpression.Create(
            $"127.0.0.1:{PrimaryEndpoint.Property(EndpointProperty.Port)},127.0.0.1:{second.PrimaryEndpoint.Property(EndpointProperty.Port)},127.0.0.1:{third.PrimaryEndpoint.Property(EndpointProperty.Port)},password={Password}")
        : ReferenceExpression.Create($"127.0.0.1:{PrimaryEndpoint.Property(EndpointProperty.Port)},password={Password}");
}

/// <summary><c>AddRedisServer</c>: Redis (or a 3-master Redis Cluster) from Debian's <c>redis-server</c>, for run mode.</summary>
public static class LocalRedis
{
    /// <summary>The environment variable that makes <see cref="AddRedisServer"/> a 3-master Redis Cluster when it is <c>1</c> or
    /// <c>true</c> (so does the AppHost configuration <c>Redis:Cluster=true</c>).</summary>
    public const string ClusterSwitch = "AISTREAMING_REDIS_CLUSTER";

    /// <summary>True when <see cref="ClusterSwitch"/> or <c>Redis:Cluster</c> asks for a Redis Cluster.</summary>
    public static bool IsClusterRequested(IDistributedApplicationBuilder builder)
    {
        var configured = builder.Configuration["Redis:Cluster"] ?? Environment.GetEnvironmentVariable(ClusterSwitch);
        return configured is "1" || bool.TryParse(configured, out var on) && on;
    }

    /// <summary>
    /// Adds a Redis server on a free loopback port, healthy once it answers <c>PING</c>. When a cluster is asked for
    /// (<see cref="IsClusterRequested"/>) it is the first of 3 masters (<c>{name}</c>, <c>{name}-node-1</c>,
    /// <c>{name}-node-2</c>, no replicas), joined by <c>redis-cli --cluster create</c> (resource <c>{name}-cluster-create</c>),
    /// and healthy once <c>CLUSTER INFO</c> says <c>cluster_state:ok</c>.
    /// </summary>
    public static IResourceBuilder<RedisServerResource> AddRedisServer(this IDistributedApplicationBuilder builder, string name)
    {
        var password = ParameterResourceBuilderExtensions.CreateDefaultPasswordParameter(builder, $"{name}-password", special: false);
        var redis = builder.AddNode(name, password);
        if (!IsClusterRequested(builder))
        {
            return redis.WithRedisHealthCheck(cluster: false);
        }
        var others = Enumerable.Range(1, 2).Select(i => builder.AddNode($"{name}-node-{i}", password).WithRedisHealthCheck(cluster: false)).ToList();
        redis.Resource.OtherClusterNodes.AddRange(others.Select(o => o.Resource));
        var nodes = others.Select(o => o.Resource).Prepend(redis.Resource).ToList();
        // redis-cli joins the masters once the other two answer PING and the first has started (the first is healthy only
        // once the cluster is formed, so waiting for its health would wait forever): it retries until that one answers too.
        var ports = nodes.Select(n => n.PrimaryEndpoint.Property(EndpointProperty.Port)).ToList();
        var create = builder.AddExecutable($"{name}-cluster-create", "/bin/sh", redis.Resource.WorkingDirectory, "-c", ReferenceExpression.Create(
                $"until redis-cli -p {ports[0]} ping >/dev/null 2>&1; do sleep 0.1; done; exec redis-cli --cluster create 127.0.0.1:{ports[0]} 127.0.0.1:{ports[1]} 127.0.0.1:{ports[2]} --cluster-replicas 0 --cluster-yes"))
            .WithEnvironment("REDISCLI_AUTH", password)
            .WithParentRelationship(redis)
            .WaitForStart(redis);
        foreach (var other in others)
        {
            create.WaitFor(other);
        }
        return redis.WithRedisHealthCheck(cluster: true);
    }

    private static IResourceBuilder<RedisServerResource> AddNode(this IDistributedApplicationBuilder builder, string name, ParameterResource password)
    {
        var asRedisUser = OperatingSystem.IsLinux() && Environment.UserName == "root" && File.ReadLines("/etc/passwd").Any(l => l.StartsWith("redis:", StringComparison.Ordinal));
        var directory = LocalDataDirectory.For(builder, name, asRedisUser ? "redis" : null);
        // A cluster is formed anew each run: a nodes.conf of an earlier run names ports that are gone.
        File.Delete(Path.Combine(directory, "nodes.conf"));
        var cluster = IsClusterRequested(builder);
        // As root, Redis runs as the redis user (Debian's package creates it): its folder and config are handed to it.
        var resource = new RedisServerResource(name, asRedisUser ? "setpriv" : "redis-server", directory, password);
        return builder.AddResource(resource)
            .WithEndpoint(name: RedisServerResource.EndpointName, scheme: "tcp", isProxied: false)
            .WithArgs(context =>
            {
                if (asRedisUser)
                {
                    foreach (var arg in new[] { "--reuid=redis", "--regid=redis", "--init-groups", "--", "redis-server" })
                    {
                        context.Args.Add(arg);
                    }
                }
                context.Args.Add(Path.Combine(directory, "redis.conf"));
                context.Args.Add("--port");
                context.Args.Add(resource.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
            })
            .OnBeforeResourceStarted(async (redis, _, cancellationToken) =>
            {
                var secret = await redis.Password.GetValueAsync(cancellationToken).ConfigureAwait(false);
                // The default user (the services' and the tests' connections) with the password, and without CONFIG, MODULE and
                // DEBUG: a leaked password cannot rewrite the server's files (CONFIG SET dir/dbfilename), load code or crash it.
                // redis-cli --cluster create needs only CLUSTER and INFO; outages are made with resource commands (stop/start).
                var lines = new List<string>
                {
                    "bind 127.0.0.1", "save \"\"", "appendonly no",
                    $"user default reset on >{secret} ~* &* +@all -config -module -debug",
                };
                if (cluster)
                {
                    lines.AddRange(["cluster-enabled yes", "cluster-config-file nodes.conf", $"masterauth {secret}"]);
                }
                var path = Path.Combine(directory, "redis.conf");
                await LocalDataDirectory.WriteNewFileAsync(path, string.Join('\n', lines) + "\n", cancellationToken).ConfigureAwait(false);
                if (asRedisUser)
                {
                    // -h: a link in the folder is changed itself, never what it points to.
                    using var chown = System.Diagnostics.Process.Start("chown", ["-R", "-h", "-P", "redis:redis", "--", directory]);
                    await chown.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
                }
            });
    }

    private static IResourceBuilder<RedisServerResource> WithRedisHealthCheck(this IResourceBuilder<RedisServerResource> builder, bool cluster)
    {
        var key = $"{builder.Resource.Name}_check";
        var resource = builder.Resource;
        builder.ApplicationBuilder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            key, _ => new RedisServerHealthCheck(resource, cluster), failureStatus: null, tags: null, timeout: TimeSpan.FromSeconds(5)));
        return builder.WithHealthCheck(key);
    }

    /// <summary>PING on the server's port; in a cluster also <c>cluster_state:ok</c>. One short-lived connection per probe.</summary>
    private sealed class RedisServerHealthCheck(RedisServerResource resource, bool cluster) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var options = new ConfigurationOptions
                {
                    EndPoints = { { "127.0.0.1", resource.PrimaryEndpoint.Port } },
                    Password = await resource.Password.GetValueAsync(cancellationToken).ConfigureAwait(false),
                    AbortOnConnectFail = true,
                    ConnectTimeout = 2000,
                    ConnectRetry = 0,
                };
                await using var connection = await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
                var server = connection.GetServers()[0];
                await server.PingAsync().ConfigureAwait(false);
                if (cluster)
                {
                    var info = (string?)await server.ExecuteAsync("CLUSTER", "INFO").ConfigureAwait(false) ?? "";
                    if (!info.Contains("cluster_state:ok", StringComparison.Ordinal))
                    {
                        return HealthCheckResult.Unhealthy("The Redis Cluster is not formed yet.");
                    }
                }
                return HealthCheckResult.Healthy(string.Create(CultureInfo.InvariantCulture, $"PING on {resource.PrimaryEndpoint.Port}"));
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or InvalidOperationException)
            {
                return HealthCheckResult.Unhealthy(ex.Message);
            }
        }
    }
}
