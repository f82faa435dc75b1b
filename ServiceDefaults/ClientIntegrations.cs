using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Client integrations for the backing services, shaped like Aspire's (<c>builder.AddRedisClient("redis")</c>,
/// <c>builder.AddNpgsqlDataSource("messages")</c>): one registration per backing service, read from the
/// <c>ConnectionStrings:{name}</c> that the AppHost (or Aspire) injects, with its readiness health check on
/// <c>/health</c>. Tracing of both comes from <see cref="Extensions.ConfigureOpenTelemetry"/>.
/// </summary>
public static class ClientIntegrations
{
    /// <summary>Timeout of each backing service's health check.</summary>
    public static readonly TimeSpan HealthCheckTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Adds a singleton <see cref="IConnectionMultiplexer"/> for <c>ConnectionStrings:{connectionName}</c> (a
    /// StackExchange.Redis configuration string such as <c>127.0.0.1:6379,password=…</c>) with
    /// <c>AbortOnConnectFail=false</c> (the service starts and reconnects while Redis is down), socket I/O on the .NET
    /// thread pool (<c>SocketManager.ThreadPool</c>: fewer threads to wake per round trip, docs/BENCHMARKS.md) and the
    /// application name as client name, plus a readiness check named <paramref name="connectionName"/>
    /// (AspNetCore.HealthChecks.Redis: every endpoint answers <c>PING</c>).
    /// </summary>
    /// <param name="builder">The host builder.</param>
    /// <param name="connectionName">Connection string name, e.g. <c>redis</c>.</param>
    /// <param name="configureSettings">
    /// Optional settings, as Aspire's <c>configureSettings</c>: set <see cref="RedisClientSettings.DisableHealthChecks"/>
    /// for a service that keeps serving while Redis is down (the streamer), so an outage does not take it out of its
    /// load balancer's rotation.
    /// </param>
    /// <returns>The same builder.</returns>
    /// <exception cref="InvalidOperationException">The connection string is missing.</exception>
    public static IHostApplicationBuilder AddRedisClient(
        this IHostApplicationBuilder builder, string connectionName, Action<RedisClientSettings>? configureSettings = null)
    {
        var settings = new RedisClientSettings();
        configureSettings?.Invoke(settings);
        var connectionString = RequireConnectionString(builder, connectionName, "Redis", "127.0.0.1:6379");
        var clientName = builder.Environment.ApplicationName;
        builder.Services.AddSingleton<IConnectionMultiplexer>(_ =>
        {
            var options = ConfigurationOptions.Parse(connectionString);
            options.AbortOnConnectFail = false;
            options.SocketManager = SocketManager.ThreadPool;
            options.ClientName ??= clientName;
            return ConnectionMultiplexer.Connect(options);
        });
        if (!settings.DisableHealthChecks)
        {
            builder.Services.AddHealthChecks().AddRedis(sp => sp.GetRequiredService<IConnectionMultiplexer>(), connectionName, timeout: HealthCheckTimeout);
        }
        return builder;
    }

    /// <summary>
    /// Adds a singleton <see cref="NpgsqlDataSource"/> (Npgsql.DependencyInjection) for
    /// <c>ConnectionStrings:{connectionName}</c> (an Npgsql connection string; <c>Application Name</c> defaults to the
    /// application name), and a readiness check named <paramref name="connectionName"/> (AspNetCore.HealthChecks.NpgSql:
    /// <c>SELECT 1</c> through that data source).
    /// </summary>
    /// <param name="builder">The host builder.</param>
    /// <param name="connectionName">Connection string name, e.g. <c>messages</c>.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="InvalidOperationException">The connection string is missing.</exception>
    public static IHostApplicationBuilder AddNpgsqlDataSource(this IHostApplicationBuilder builder, string connectionName)
    {
        var connectionString = RequireConnectionString(builder, connectionName, "PostgreSQL", "Host=127.0.0.1;Database=messages;…");
        var applicationName = builder.Environment.ApplicationName;
        builder.Services.AddNpgsqlDataSource(connectionString, dataSource =>
        {
            if (string.IsNullOrEmpty(dataSource.ConnectionStringBuilder.ApplicationName))
            {
                dataSource.ConnectionStringBuilder.ApplicationName = applicationName;
            }
        });
        builder.Services.AddHealthChecks().AddNpgSql(sp => sp.GetRequiredService<NpgsqlDataSource>(), name: connectionName, timeout: HealthCheckTimeout);
        return builder;
    }

    private static string RequireConnectionString(IHostApplicationBuilder builder, string name, string what, string example) =>
        builder.Configuration.GetConnectionString(name)
        ?? throw new InvalidOperationException($"ConnectionStrings:{name} ({what}) is required, e.g. ConnectionStrings__{name}={example}.");
}

/// <summary>Settings of <see cref="ClientIntegrations.AddRedisClient"/>, named as Aspire's StackExchange.Redis client settings.</summary>
public sealed class RedisClientSettings
{
    /// <summary>When <see langword="true"/>, no <c>redis</c> readiness check is registered (default <see langword="false"/>).</summary>
    public bool DisableHealthChecks { get; set; }
}
