namespace AiStreaming.AppHost.Hosting;

/// <summary>
/// A Redis server run from Debian's <c>redis-server</c> on a loopback port, without persistence
/// (<c>--save "" --appendonly no</c>): a restart loses every key, which tests use to simulate data loss.
/// Healthy when it answers <c>PING</c>.
/// </summary>
/// <param name="name">The resource name; referencing projects get <c>ConnectionStrings__{name}</c>.</param>
public sealed class RedisResource(string name) : Resource(name), IResourceWithConnectionString, IResourceWithWaitSupport, IResourceWithArgs
{
    /// <summary>The fixed port asked for in <c>AddRedis</c>, or null for a free loopback port.</summary>
    public int? RequestedPort { get; init; }

    /// <summary>The port allocated when the application was built.</summary>
    internal int? Port { get; set; }

    /// <summary>
    /// The password (<c>requirepass</c>) generated when the application was built, as Aspire's <c>AddRedis</c> generates
    /// one: 32 random characters, new every run (this Redis keeps no data across restarts).
    /// </summary>
    internal string? Password { get; set; }

    /// <summary>
    /// The StackExchange.Redis connection string: <c>127.0.0.1:{port},password={password}</c>, or the one supplied to the
    /// AppHost. A secret: passed to projects by environment, never logged.
    /// </summary>
    public ValueTask<string?> GetConnectionStringAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<string?>(ExternalConnectionString
            ?? $"127.0.0.1:{Port ?? throw NotBuilt(Name)}" + (Password is null ? "" : $",password={Password}"));

    internal static InvalidOperationException NotBuilt(string name) =>
        new($"Resource '{name}' has no port yet: build the application first (builder.Build() or BuildAsync()).");
}
