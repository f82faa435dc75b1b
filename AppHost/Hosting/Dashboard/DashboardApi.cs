using AiStreaming.AppHost.Hosting.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace AiStreaming.AppHost.Hosting.Dashboard;

/// <summary>
/// The dashboard's page and JSON API (all behind <see cref="DashboardSecurity"/>):
/// <c>GET /</c> the page (embedded <c>wwwroot</c>: index.html, app.js, app.css, uPlot);
/// <c>GET /login?t=TOKEN</c> starts a session;
/// <c>GET /api/resources</c> resources and replicas (state, health, pid, endpoint, restarts);
/// <c>GET /api/console/{name}/{replica}</c> the replica's last output lines (secrets masked);
/// <c>GET /api/traces?source=&amp;limit=</c>, <c>GET /api/traces/{traceId}</c>;
/// <c>GET /api/logs?source=&amp;level=&amp;traceId=&amp;limit=</c> (newest first);
/// <c>GET /api/metrics</c>, <c>GET /api/metrics/{name}?since=UNIX_MS</c>.
/// </summary>
internal static class DashboardApi
{
    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
    };

    public static void MapDashboard(this IEndpointRouteBuilder app, Orchestrator orchestrator, TelemetryStore store, DashboardSecurity security)
    {
        app.MapGet("/login", (HttpContext context, string? t) =>
        {
            if (security.IsBrowserTokenValid(t))
            {
                security.StartSession(context);
                return Results.Redirect("/");
            }
            return Results.Content(LoginPage(t is not null), "text/html; charset=utf-8", statusCode: t is null ? 200 : 401);
        });
        app.MapGet("/", () => Asset("index.html"));
        app.MapGet("/{**file}", (string file) => Asset(file));

        var api = app.MapGroup("/api");
        api.MapGet("/resources", () => TypedResults.Ok(Resources(orchestrator, store)));
        api.MapGet("/console/{name}/{replica:int}", Results<Ok<string[]>, NotFound> (string name, int replica) =>
        {
            try
            {
                return TypedResults.Ok(orchestrator.Get(name).GetReplica(replica).GetLogs().Select(SecretMask.Mask).ToArray());
            }
            catch (Exception ex) when (ex is KeyNotFoundException or ArgumentOutOfRangeException)
            {
                return TypedResults.NotFound();
            }
        });
        api.MapGet("/traces", (string? source, int? limit) => TypedResults.Ok(store.GetTraces(Math.Clamp(limit ?? 100, 1, 500), Empty(source))));
        api.MapGet("/traces/{traceId}", Results<Ok<IReadOnlyList<SpanRecord>>, NotFound> (string traceId) =>
            store.GetTrace(traceId) is { Count: > 0 } spans ? TypedResults.Ok(spans) : TypedResults.NotFound());
        api.MapGet("/logs", (string? source, string? level, string? traceId, int? limit) =>
            TypedResults.Ok(store.GetLogs(Math.Clamp(limit ?? 200, 1, 1000), Empty(source), Empty(level), Empty(traceId))));
        api.MapGet("/metrics", () => TypedResults.Ok(store.Metrics.List()));
        api.MapGet("/metrics/{name}", (string name, long? since) => TypedResults.Ok(store.Metrics.Get(name, since ?? 0)));
    }

    private static string? Empty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static object Resources(Orchestrator orchestrator, TelemetryStore store) => new
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
                healthy = replica.State == ResourceState.Healthy,
                pid = replica.ProcessId,
                exitCode = replica.ExitCode,
                restarts = Math.Max(0, replica.Launches - 1),
                endpoint = r.Driver.GetEndpoint(replica).GetLeftPart(UriPartial.Authority),
                since = replica.StateChangedAt,
            }),
        }),
        telemetrySources = store.Sources,
    };

    private static IResult Asset(string file)
    {
        var name = "dashboard/" + file;
        var stream = typeof(DashboardApi).Assembly.GetManifestResourceStream(name);
        if (stream is null || file.Contains("..", StringComparison.Ordinal))
        {
            stream?.Dispose();
            return Results.NotFound();
        }
        return Results.Stream(stream, ContentTypes.GetValueOrDefault(Path.GetExtension(file), "application/octet-stream"));
    }

    private static string LoginPage(bool wrongToken) => $$"""
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>AiStreaming dashboard: log in</title><link rel="stylesheet" href="/app.css"></head>
<body class="login"><main>
<h1>AiStreaming dashboard</h1>
<p>{{(wrongToken ? "That token is not valid. " : "")}}Open the login URL the AppHost printed at start
(<code>http://127.0.0.1:PORT/login?t=…</code>), or paste its token:</p>
<form method="get" action="/login"><label>Token <input name="t" type="password" autocomplete="off" autofocus></label> <button>Log in</button></form>
</main></body></html>
""";
}
