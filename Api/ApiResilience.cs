using AiStreaming.Channels;
using Npgsql;
using Polly;
using Polly.Retry;
using Polly.Telemetry;

namespace AiStreaming.Api;

/// <summary>
/// The Api's retry policies, as named Polly resilience pipelines (Microsoft.Extensions.Resilience: telemetry and
/// logs of every retry), all on the injected <see cref="TimeProvider"/>. Resolve them with
/// <c>ResiliencePipelineProvider&lt;string&gt;.GetPipeline(name)</c>.
/// </summary>
public static class ApiResilience
{
    /// <summary>
    /// The terminal write of a generation (message row + outbox events, one transaction): on <see cref="NpgsqlException"/>
    /// or <see cref="TimeoutException"/>, 5 retries with exponential back-off from 500 ms and jitter (≈ 15 s in all,
    /// the same as the lease); after that the lease lapses and the sweeper fails the message.
    /// </summary>
    public const string TerminalWrite = "generation-terminal-write";

    /// <summary>
    /// The schema migration at startup: PostgreSQL may still be starting. On <see cref="NpgsqlException"/> or
    /// <see cref="TimeoutException"/>, a retry every second for up to 30 attempts, then startup fails.
    /// </summary>
    public const string DatabaseStartup = "database-startup";

    /// <summary>
    /// A Redis pub/sub subscription that must exist (cancel requests): retried every 2 s while Redis is unavailable
    /// (<see cref="RedisFaults.IsUnavailable"/>), until it succeeds or the host stops.
    /// </summary>
    public const string RedisSubscribe = "redis-subscribe";

    /// <summary>Registers the pipelines above.</summary>
    /// <param name="builder">The application builder.</param>
    /// <returns>The same builder.</returns>
    public static IHostApplicationBuilder AddApiResilience(this IHostApplicationBuilder builder)
    {
        // Our callers log the first failure themselves, once and without a stack trace (an outage is not a bug); Polly's
        // own retry events go out at Information, below the "Polly" Warning filter of ServiceDefaults.
        string[] ours = [TerminalWrite, DatabaseStartup, RedisSubscribe];
        builder.Services.Configure<TelemetryOptions>(telemetry => telemetry.SeverityProvider = args =>
            args.Event.EventName == "OnRetry" && Array.IndexOf(ours, args.Source.PipelineName) >= 0
                ? ResilienceEventSeverity.Information
                : args.Event.Severity);
        builder.Services.AddResiliencePipeline(TerminalWrite, (pipeline, context) =>
        {
            pipeline.TimeProvider = context.ServiceProvider.GetRequiredService<TimeProvider>();
            pipeline.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<NpgsqlException>().Handle<TimeoutException>(),
                MaxRetryAttempts = 5,
                Delay = TimeSpan.FromMilliseconds(500),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            });
        });
        builder.Services.AddResiliencePipeline(DatabaseStartup, (pipeline, context) =>
        {
            pipeline.TimeProvider = context.ServiceProvider.GetRequiredService<TimeProvider>();
            pipeline.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<NpgsqlException>(ex => ex is not PostgresException { SqlState: PostgresErrorCodes.InvalidCatalogName })
                    .Handle<TimeoutException>(),
                MaxRetryAttempts = 30,
                Delay = TimeSpan.FromSeconds(1),
                BackoffType = DelayBackoffType.Constant,
            });
        });
        builder.Services.AddResiliencePipeline(RedisSubscribe, (pipeline, context) =>
        {
            pipeline.TimeProvider = context.ServiceProvider.GetRequiredService<TimeProvider>();
            pipeline.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(RedisFaults.IsUnavailable),
                MaxRetryAttempts = int.MaxValue,
                Delay = TimeSpan.FromSeconds(2),
                BackoffType = DelayBackoffType.Constant,
            });
        });
        return builder;
    }
}
