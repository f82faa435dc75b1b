using Aspire.StackExchange.Redis;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What the Api and the streamers change in Aspire.StackExchange.Redis's <c>AddRedisClient</c>: the two arguments
/// <c>configureSettings</c> and <c>configureOptions</c>.
/// </summary>
public static class RedisMultiplexerDefaults
{
    /// <summary>
    /// Turns off the integration's own tracing: ServiceDefaults instruments the multiplexer itself, leaving out the
    /// per-token publishes of a generation (<c>OpenTelemetry:Redis:UntracedParents</c>), which would make a span per token.
    /// </summary>
    public static void ConfigureSettings(StackExchangeRedisSettings settings) => settings.DisableTracing = true;

    /// <summary>
    /// <c>AbortOnConnectFail=false</c> (a service starts, and reconnects, while Redis is down), a reconnect attempt every
    /// second (<c>LinearRetry(1000)</c>: StackExchange.Redis's default backs off exponentially, so after a whole Redis
    /// Cluster restarted a replica could stay disconnected for tens of seconds) and socket I/O on the .NET
    /// thread pool (<c>SocketManager.ThreadPool</c>: about 8 % less CPU per token than StackExchange.Redis's own socket
    /// threads, measured with the bench, docs/BENCHMARKS.md).
    /// </summary>
    public static void Apply(ConfigurationOptions options)
    {
        options.AbortOnConnectFail = false;
        options.ReconnectRetryPolicy = new LinearRetry(1000);
        options.SocketManager = SocketManager.ThreadPool;
    }
}
