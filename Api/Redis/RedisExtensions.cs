using AiStreaming.Channels;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AiStreaming.Api.Redis;

/// <summary>Registers Redis: the multiplexer, the channel publisher and the readiness check.</summary>
public static class RedisExtensions
{
    /// <summary>Name of the connection string (<c>ConnectionStrings:redis</c>), as Aspire's <c>AddRedis("redis")</c> injects it.</summary>
    public const string ConnectionName = "redis";

    /// <summary>
    /// Adds a singleton <see cref="IConnectionMultiplexer"/> for <c>ConnectionStrings:redis</c> (a StackExchange.Redis
    /// configuration string such as <c>127.0.0.1:6379</c>; <c>AbortOnConnectFail=false</c>, so the Api starts and
    /// reconnects while Redis is down), <see cref="ChannelOptions"/> bound from <c>Channels</c> and validated, a
    /// singleton <see cref="ChannelPublisher"/> and <see cref="ChannelHistory"/>, and a <c>redis</c> readiness health check.
    /// </summary>
    /// <param name="builder">The application builder.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="InvalidOperationException"><c>ConnectionStrings:redis</c> is missing.</exception>
    public static IHostApplicationBuilder AddRedis(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(ConnectionName)
            ?? throw new InvalidOperationException($"ConnectionStrings:{ConnectionName} (Redis) is required.");

        builder.Services.AddSingleton<IConnectionMultiplexer>(_ =>
        {
            var options = ConfigurationOptions.Parse(connectionString);
            options.AbortOnConnectFail = false;
            // Socket I/O on the .NET thread pool rather than a dedicated pool of 10 threads: fewer threads to wake per
            // round trip (docs/BENCHMARKS.md).
            options.SocketManager = SocketManager.ThreadPool;
            options.ClientName ??= ApiTelemetry.Name;
            return ConnectionMultiplexer.Connect(options);
        });

        builder.Services.AddOptions<ChannelOptions>()
            .BindConfiguration(ChannelOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton(sp => new ChannelPublisher(
            sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<IOptions<ChannelOptions>>().Value));

        builder.Services.AddSingleton(sp => new ChannelHistory(
            sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<IOptions<ChannelOptions>>().Value.OperationTimeout));
        builder.Services.AddHealthChecks().AddCheck<RedisHealthCheck>("redis", timeout: TimeSpan.FromSeconds(5));
        return builder;
    }
}
