using Microsoft.Extensions.Options;

namespace AiStreaming.Web.Security;

/// <summary>Cross-site settings of Web, bound from the <c>WebSecurity</c> configuration section.</summary>
public sealed class WebSecurityOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "WebSecurity";

    /// <summary>Origins allowed besides Web's own (e.g. another front end). Default none.</summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>
    /// <c>Content-Security-Policy</c> of every response. Scripts and styles from Web's origin only; connections to
    /// Web's origin (fetch, WebSocket, EventSource); no framing.
    /// </summary>
    public string ContentSecurityPolicy { get; set; } =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
}

/// <summary>
/// Browser-facing protections of Web: security headers on every response, and for the proxied paths an
/// <c>Origin</c> check (hub, SSE, Api) plus a CSRF rule for state-changing Api calls: a <c>POST</c>/<c>PUT</c>/
/// <c>PATCH</c>/<c>DELETE</c> to <c>/api</c> must carry <see cref="RequestHeader"/>. A cross-site page cannot send a
/// custom header without a CORS preflight, which Web never grants, so a cross-site form or <c>fetch</c> "simple
/// request" is refused with 403 (<c>csrf</c>) even though the browser would attach the cookie.
/// </summary>
public static partial class BrowserProtection
{
    /// <summary>Header every state-changing <c>/api</c> call must carry (any non-empty value; the page sends <c>fetch</c>).</summary>
    public const string RequestHeader = "X-Requested-With";

    /// <summary>Adds <see cref="WebSecurityOptions"/>.</summary>
    public static IHostApplicationBuilder AddBrowserProtection(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<WebSecurityOptions>().BindConfiguration(WebSecurityOptions.SectionName);
        return builder;
    }

    /// <summary>Adds the headers and the cross-site checks (before routing to pages and the proxy).</summary>
    public static IApplicationBuilder UseBrowserProtection(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var options = context.RequestServices.GetRequiredService<IOptions<WebSecurityOptions>>().Value;
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = options.ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";

        var request = context.Request;
        var proxied = request.Path.StartsWithSegments("/api") || request.Path.StartsWithSegments("/hubs") || request.Path.StartsWithSegments("/sse");
        if (proxied)
        {
            var origin = request.Headers.Origin.FirstOrDefault();
            if (origin is not null && !IsSameOrAllowed(origin, request, options.AllowedOrigins))
            {
                await RefuseAsync(context, "forbidden_origin", "The request's Origin is not allowed.");
                return;
            }
            if (request.Path.StartsWithSegments("/api") && !HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method)
                && string.IsNullOrEmpty(request.Headers[RequestHeader]))
            {
                await RefuseAsync(context, "csrf", $"State-changing API calls must carry the {RequestHeader} header.");
                return;
            }
        }
        await next(context);
    });

    private static bool IsSameOrAllowed(string origin, HttpRequest request, string[] allowed)
    {
        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri))
        {
            return false;
        }
        // Host and port only: behind a TLS-terminating ingress the request's scheme is http while the page is https,
        // and a cross-site page cannot choose the Host it is served from.
        var authority = uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}";
        if (string.Equals(authority, request.Host.Value, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        var normalized = uri.GetLeftPart(UriPartial.Authority);
        return allowed.Any(a => string.Equals(a.TrimEnd('/'), normalized, StringComparison.OrdinalIgnoreCase));
    }

    private static async Task RefuseAsync(HttpContext context, string code, string detail)
    {
        Log.Refused(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(BrowserProtection)), code, context.Request.Path.Value ?? "");
        await TypedResults.Problem(detail, statusCode: StatusCodes.Status403Forbidden, title: code).ExecuteAsync(context);
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Information, "Refused cross-site request ({Code}) to {Path}")]
        public static partial void Refused(ILogger logger, string code, string path);
    }
}
