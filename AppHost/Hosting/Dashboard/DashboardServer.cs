using System.Net;
using AiStreaming.AppHost.Hosting.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace AiStreaming.AppHost.Hosting.Dashboard;

/// <summary>
/// The AppHost's dashboard, shaped like Aspire's: on a loopback port (HTTP/1.1) the page (resources, console output, traces,
/// structured logs, metrics charts), its JSON API and OTLP/HTTP ingestion; on a second loopback port (HTTP/2 without TLS) OTLP/gRPC
/// ingestion, which services use by default. Telemetry is decoded into a bounded in-memory <see cref="TelemetryStore"/>.
/// Access: see <see cref="DashboardSecurity"/> (Host check, browser token login, OTLP API key).
/// </summary>
internal sealed class DashboardServer(Orchestrator orchestrator, int port, int otlpGrpcPort) : IAsyncDisposable
{
    private WebApplication? _app;

    public DashboardSecurity Security { get; } = new([port, otlpGrpcPort]);

    public TelemetryStore Store { get; } = new();

    public Uri Url { get; } = new($"http://127.0.0.1:{port}");

    /// <summary>The URL that logs a browser in: <c>http://127.0.0.1:PORT/login?t=TOKEN</c>.</summary>
    public Uri LoginUrl => new($"http://127.0.0.1:{port}/login?t={Security.BrowserToken}");

    /// <summary>OTLP/HTTP endpoint (<c>OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf</c>).</summary>
    public string OtlpHttpEndpoint => $"http://127.0.0.1:{port}";

    /// <summary>OTLP/gRPC endpoint (<c>OTEL_EXPORTER_OTLP_PROTOCOL=grpc</c>).</summary>
    public string OtlpGrpcEndpoint => $"http://127.0.0.1:{otlpGrpcPort}";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // The AppHost owns Ctrl+C and SIGTERM; the dashboard must not stop itself (or the process) on them.
        var builder = EmbeddedWebApp.CreateBuilder("AiStreaming.AppHost.Dashboard");
        builder.Services.AddSingleton(Store);
        builder.Services.AddSingleton(Security);
        builder.Services.AddGrpc(grpc => grpc.MaxReceiveMessageSize = OtlpIngestion.MaxBodyBytes);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = OtlpIngestion.MaxBodyBytes;
            kestrel.Listen(IPAddress.Loopback, port, listen => listen.Protocols = HttpProtocols.Http1);
            kestrel.Listen(IPAddress.Loopback, otlpGrpcPort, listen => listen.Protocols = HttpProtocols.Http2);
        });
        builder.WebHost.UseUrls();

        var app = builder.Build();
        app.Use(Security.CheckAsync);
        app.MapOtlpHttp(Store, Security);
        app.MapGrpcService<OtlpTraceService>();
        app.MapGrpcService<OtlpMetricsService>();
        app.MapGrpcService<OtlpLogsService>();
        app.MapDashboard(orchestrator, Store, Security);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _app = app;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await EmbeddedWebApp.StopAsync(app, TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
    }
}
