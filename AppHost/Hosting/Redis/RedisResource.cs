using AiStreaming.AppHost.Hosting.Runtime;

namespace AiStreaming.AppHost.Hosting;

/// <summary>
/// A Redis server run from Debian's <c>redis-server</c> on a loopback port, without persistence
/// (<c>--save "" --appendonly no</c>): a restart loses every key, which tests use to simulate data loss. With
/// <see cref="RedisResourceBuilderExtensions.WithCluster"/> it is a Redis Cluster of that many masters (one replica each).
/// Healthy when it answers <c>PING</c> (and, in a cluster, <c>CLUSTER INFO</c> says <c>cluster_state:ok</c>).
/// </summary>
/// <param name="name">The resource name; referencing projects get <c>ConnectionStrings__{name}</c>.</param>
public sealed class RedisResource(string name) : Resource(name), IResourceWithConnectionString, IResourceWithWaitSupport, IResourceWithEndpoints
{
    /// <summary>
    /// The password (<c>requirepass</c>, and <c>masterauth</c> in a cluster) generated when the application was built, as
    /// Aspire's <c>AddRedis</c> generates one: 32 random characters, new every run (this Redis keeps no data across restarts).
    /// </summary>
    internal string? Password { get; set; }

    /// <summary>True when the resource runs as a Redis Cluster (<see cref="RedisResourceBuilderExtensions.WithCluster"/>).</summary>
    public bool IsCluster => Annotations.OfType<RedisClusterAnnotation>().Any();

    /// <summary>
    /// The StackExchange.Redis connection string: <c>127.0.0.1:{port},password={password}</c>, in a cluster every master
    /// (<c>127.0.0.1:{p1},127.0.0.1:{p2},127.0.0.1:{p3},password=…</c>), or the one supplied to the AppHost. A secret:
    /// passed to projects by environment, never logged.
    /// </summary>
    public ValueTask<string?> GetConnectionStringAsync(CancellationToken cancellationToken = default)
    {
        if (ExternalConnectionString is { } external)
        {
            return ValueTask.FromResult<string?>(external);
        }
        var endpoint = this.Endpoint()!;
        if (endpoint.TargetPorts.Count == 0)
        {
            throw endpoint.NotAllocated();
        }
        var hosts = string.Join(',', endpoint.TargetPorts.Select(p => $"127.0.0.1:{p}"));
        return ValueTask.FromResult<string?>(hosts + (Password is null ? "" : $",password={Password}"));
    }
}

/// <summary>Marks a <see cref="RedisResource"/> as a Redis Cluster; its replicas are the masters.</summary>
internal sealed record RedisClusterAnnotation : IResourceAnnotation;

/// <summary><c>AddRedis</c>, as Aspire's, and <c>WithCluster</c>.</summary>
public static class RedisResourceBuilderExtensions
{
    /// <summary>The environment variable that turns every <c>AddRedis</c> into a 3-master cluster when it is <c>1</c> or <c>true</c>
    /// (so does the AppHost configuration <c>Redis:Cluster=true</c>).</summary>
    public const string ClusterSwitch = "AISTREAMING_REDIS_CLUSTER";

    /// <summary>
    /// Adds a Redis server (Debian's <c>redis-server</c>, no persistence, generated password) on a free loopback port, or on
    /// <paramref name="port"/>; a 3-master Redis Cluster instead when <see cref="ClusterSwitch"/> or <c>Redis:Cluster</c> is set.
    /// </summary>
    public static IResourceBuilder<RedisResource> AddRedis(this IDistributedApplicationBuilder builder, string name, int? port = null)
    {
        var redis = new RedisResource(name);
        redis.Annotations.Add(new EndpointAnnotation("tcp") { RequestedPort = port });
        redis.Annotations.Add(new ResourceLifecycleAnnotation(context =>
        {
            if (redis.ExternalConnectionString is { } external)
            {
                return new VirtualDriver(context.Host, "Redis (external)", _ => new Uri($"tcp://{external.Split(',')[0].Trim()}"));
            }
            redis.Password = RedisDriver.CreatePassword();
            return new RedisDriver(context.Host, redis);
        }));
        var result = builder.AddResource(redis);
        var configured = builder.Configuration["Redis:Cluster"] ?? Environment.GetEnvironmentVariable(ClusterSwitch);
        return configured is "1" || bool.TryParse(configured, out var on) && on ? result.WithCluster() : result;
    }

    /// <summary>
    /// Runs the resource as a Redis Cluster of <paramref name="masters"/> masters on loopback, without replicas, created with
    /// <c>redis-cli --cluster create … --cluster-replicas 0 --cluster-yes</c> once every node answers. Keys of one channel
    /// share a slot through their hash tag (<c>ais:{conv:ID}:…</c>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Redis Cluster needs at least 3 masters.</exception>
    public static IResourceBuilder<RedisResource> WithCluster(this IResourceBuilder<RedisResource> builder, int masters = 3)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(masters, 3);
        builder.Resource.Annotations.RemoveAll(a => a is RedisClusterAnnotation or ReplicaAnnotation);
        builder.Resource.Annotations.Add(new RedisClusterAnnotation());
        builder.Resource.Annotations.Add(new ReplicaAnnotation(masters));
        return builder;
    }
}
