using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Cross-cutting defaults every AiStreaming service adds, shaped like an Aspire ServiceDefaults project:
/// OpenTelemetry (logs, traces, metrics; OTLP export when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set),
/// health checks, service discovery and standard HTTP resilience.
/// </summary>
public static class Extensions
{
    /// <summary>Path of the readiness check: every registered health check must pass.</summary>
    public const string HealthEndpointPath = "/health";

    /// <summary>Path of the liveness check: only checks tagged <c>live</c> run.</summary>
    public const string AlivenessEndpointPath = "/alive";

    /// <summary>
    /// Gives up root when started as root and asked to (<see cref="RootPrivileges"/>), then adds OpenTelemetry, default
    /// health checks (their changes logged once each by <see cref="HealthLogging"/>), service discovery and HTTP client
    /// resilience.
    /// </summary>
    /// <param name="builder">The host builder.</param>
    /// <param name="meterNames">Meters of the service to export (one per service, e.g. <c>AiStreaming.Api</c>).</param>
    /// <returns>The same builder.</returns>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder, params string[] meterNames)
        where TBuilder : IHostApplicationBuilder
    {
        // First: nothing else should run as root.
        RootPrivileges.DropRoot(builder);
        builder.ConfigureOpenTelemetry(meterNames);
        // The standard resilience handler logs every attempt at Information, including the OTLP exporter's exports.
        builder.Logging.AddFilter("Polly", LogLevel.Warning);
        // A failed readiness check is logged once per change, without its stack trace, by HealthLogging.
        builder.Logging.AddFilter(HealthLogging.HealthCheckServiceCategory, LogLevel.None);
        builder.Services.AddSingleton<HealthLogging>();
        builder.AddDefaultHealthChecks();
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });
        return builder;
    }

    /// <summary>
    /// Configuration key listing span names under which Redis commands get no span of their own (e.g. <c>["generation"]</c>,
    /// whose per-token publishes would make a span per token); every other command the service's <c>IConnectionMultiplexer</c>
    /// sends becomes a span.
    /// </summary>
    public const string RedisUntracedParentsKey = "OpenTelemetry:Redis:UntracedParents";

    /// <summary>
    /// Configures OpenTelemetry logging (formatted message and scopes), tracing (ASP.NET Core, HttpClient, the
    /// registered StackExchange.Redis multiplexer and the given sources) and metrics (ASP.NET Core, HttpClient, runtime and
    /// the given meters). Npgsql's tracing and metrics come with Aspire.Npgsql's <c>AddNpgsqlDataSource</c>. Exports OTLP (protocol, headers and intervals from the standard <c>OTEL_*</c> variables) when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set.
    /// </summary>
    /// <param name="builder">The host builder.</param>
    /// <param name="names">ActivitySource and Meter names of the service (they share the service's name).</param>
    /// <returns>The same builder.</returns>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder, params string[] names)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(names))
            .WithTracing(tracing => tracing
                .SetSampler(new ParentBasedSampler(new RootClientSpanSampler()))
                .AddSource(builder.Environment.ApplicationName)
                .AddSource(names)
                // SignalR hub invocations (.NET 9+): one span per Subscribe stream, not per streamed item.
                .AddSource("Microsoft.AspNetCore.SignalR.Server")
                .AddAspNetCoreInstrumentation(options =>
                    // Health probes are polled every second or two: keep them out of traces.
                    options.Filter = context =>
                        !context.Request.Path.StartsWithSegments(HealthEndpointPath)
                        && !context.Request.Path.StartsWithSegments(AlivenessEndpointPath))
                .AddHttpClientInstrumentation()
                // Resolves the service's IConnectionMultiplexer from DI, if it registers one (Api, Streamer).
                .AddRedisInstrumentation(redis =>
                {
                    var untraced = builder.Configuration.GetSection(RedisUntracedParentsKey).Get<string[]>() ?? [];
                    redis.Filter = context => context.ParentActivity is not { } parent || Array.IndexOf(untraced, parent.OperationName) < 0;
                    redis.SetVerboseDatabaseStatements = false;
                }));

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>Adds a <c>self</c> liveness check tagged <c>live</c>; services add their own readiness checks.</summary>
    /// <param name="builder">The host builder.</param>
    /// <returns>The same builder.</returns>
    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
        return builder;
    }

    /// <summary>
    /// Maps <c>/health</c> (ready: all checks pass) and <c>/alive</c> (live: checks tagged <c>live</c>).
    /// Unlike the Aspire template these are mapped in every environment: the AppHost, YARP's active health
    /// checks and container orchestrators all probe them. They reveal only Healthy/Unhealthy.
    /// </summary>
    /// <param name="app">The web application.</param>
    /// <returns>The same application.</returns>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks(HealthEndpointPath, new HealthCheckOptions { ResponseWriter = HealthLogging.WriteAsync });
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains("live"),
        });
        return app;
    }
}
