using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AiStreaming.AppHost.Hosting.Runtime;

/// <summary>
/// The AppHost's small dashboard on a loopback port: <c>GET /</c> a page of resources, replicas, states, pids, endpoints and the
/// selected replica's recent output; <c>GET /api/resources</c> and <c>GET /api/logs/{name}/{replica}</c> its data; and an
/// OTLP/HTTP sink (<c>POST /v1/traces|metrics|logs</c>) that answers 200 without decoding and counts requests and bytes per
/// replica (header <c>x-aistreaming-resource</c>, set through <c>OTEL_EXPORTER_OTLP_HEADERS</c>).
/// </summary>
internal sealed class Dashboard(Orchestrator orchestrator, int port) : IAsyncDisposable
{
    public const string ResourceHeader = "x-aistreaming-resource";

    private readonly ConcurrentDictionary<(string Source, string Signal), TelemetryCounter> _telemetry = new();
    private WebApplication? _app;

    public Uri Url { get; } = new($"http://127.0.0.1:{port}");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = "AiStreaming.AppHost.Dashboard",
            EnvironmentName = Environments.Production,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        // The AppHost owns Ctrl+C and SIGTERM; the dashboard must not stop itself (or the process) on them.
        builder.Services.AddSingleton<IHostLifetime, NoHostLifetime>();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        builder.WebHost.UseUrls();

        var app = builder.Build();
        app.MapGet("/", () => Results.Content(DashboardPage.Html, "text/html; charset=utf-8"));
        app.MapGet("/api/resources", () => Results.Json(Snapshot()));
        app.MapGet("/api/logs/{name}/{replica:int}", (string name, int replica) =>
        {
            try
            {
                return Results.Json(orchestrator.Get(name).GetReplica(replica).GetLogs());
            }
            catch (Exception ex) when (ex is KeyNotFoundException or ArgumentOutOfRangeException)
            {
                return Results.NotFound();
            }
        });
        foreach (var signal in new[] { "traces", "metrics", "logs" })
        {
            app.MapPost($"/v1/{signal}", (HttpContext context) => ReceiveTelemetryAsync(signal, context));
        }
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _app = app;
    }

    private async Task ReceiveTelemetryAsync(string signal, HttpContext context)
    {
        var source = context.Request.Headers[ResourceHeader].ToString() is { Length: > 0 } header ? header : "unknown";
        var counter = _telemetry.GetOrAdd((source, signal), _ => new TelemetryCounter());
        var buffer = new byte[16 * 1024];
        long bytes = 0;
        int read;
        while ((read = await context.Request.Body.ReadAsync(buffer, context.RequestAborted).ConfigureAwait(false)) > 0)
        {
            bytes += read;
        }
        counter.Add(bytes);
        // An empty Export*ServiceResponse is an empty protobuf message: 200 with no body means "all accepted".
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/x-protobuf";
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await app.StopAsync(timeout.Token).ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private object Snapshot() => new
    {
        resources = orchestrator.StartOrder.Select(r => new
        {
            name = r.Name,
            kind = r.Driver.Kind,
            replicas = r.Replicas.Select(replica => new
            {
                index = replica.Index,
                name = replica.DisplayName,
                state = replica.State.ToString(),
                pid = replica.ProcessId,
                exitCode = replica.ExitCode,
                launches = replica.Launches,
                endpoint = r.Driver.GetEndpoint(replica).GetLeftPart(UriPartial.Authority),
                since = replica.StateChangedAt,
            }),
        }),
        telemetry = _telemetry
            .OrderBy(t => t.Key.Source, StringComparer.Ordinal).ThenBy(t => t.Key.Signal, StringComparer.Ordinal)
            .Select(t => new { source = t.Key.Source, signal = t.Key.Signal, requests = t.Value.Requests, bytes = t.Value.Bytes }),
    };

    private sealed class TelemetryCounter
    {
        private long _requests;
        private long _bytes;

        public long Requests => Interlocked.Read(ref _requests);

        public long Bytes => Interlocked.Read(ref _bytes);

        public void Add(long bytes)
        {
            Interlocked.Increment(ref _requests);
            Interlocked.Add(ref _bytes, bytes);
        }
    }

    private sealed class NoHostLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
