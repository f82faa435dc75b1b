using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace AiStreaming.AppHost.Hosting.Dashboard;

/// <summary>
/// Who may use the dashboard, after Aspire's dashboard (browser token, OTLP API key):
/// <list type="bullet">
/// <item><b>Host check</b> (against DNS rebinding): every request's <c>Host</c> must be <c>127.0.0.1</c>, <c>[::1]</c> or
/// <c>localhost</c> with one of the dashboard's ports; otherwise 400.</item>
/// <item><b>Browser token</b>: a random 256-bit token printed at start as <c>http://127.0.0.1:PORT/login?t=TOKEN</c>; the login sets
/// an HttpOnly, SameSite=Strict session cookie. Pages and <c>/api/*</c> need the cookie (pages redirect to the login form, the API
/// answers 401).</item>
/// <item><b>OTLP API key</b>: another random token services send as <c>x-otlp-api-key</c> (via <c>OTEL_EXPORTER_OTLP_HEADERS</c>).</item>
/// </list>
/// Comparisons are constant-time. Tokens live only in this process's memory: a restart issues new ones.
/// </summary>
internal sealed class DashboardSecurity
{
    /// <summary>Prefix of the session cookie; the dashboard's port follows, since cookies are shared across a host's ports and two
    /// AppHosts may run side by side.</summary>
    public const string CookiePrefix = "aistreaming-dashboard-";

    private readonly byte[] _browserToken;
    private readonly byte[] _session;
    private readonly byte[] _otlpKey;
    private readonly HashSet<int> _ports;

    /// <param name="ports">The dashboard's ports, the page's first.</param>
    /// <param name="browserToken">A fixed browser token, or null for a random one.</param>
    public DashboardSecurity(IReadOnlyList<int> ports, string? browserToken = null)
    {
        BrowserToken = browserToken ?? NewToken();
        OtlpApiKey = NewToken();
        _browserToken = Encoding.UTF8.GetBytes(BrowserToken);
        _session = Encoding.UTF8.GetBytes(NewToken());
        _otlpKey = Encoding.UTF8.GetBytes(OtlpApiKey);
        _ports = [.. ports];
        CookieName = CookiePrefix + ports[0].ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The session cookie's name, e.g. <c>aistreaming-dashboard-18888</c>.</summary>
    public string CookieName { get; }

    /// <summary>The token of the login URL.</summary>
    public string BrowserToken { get; }

    /// <summary>The key services send in <c>x-otlp-api-key</c>.</summary>
    public string OtlpApiKey { get; }

    public bool IsOtlpKeyValid(StringValues header) => Matches(header.ToString(), _otlpKey);

    public bool IsOtlpKeyValid(string? header) => Matches(header, _otlpKey);

    public bool IsBrowserTokenValid(string? token) => Matches(token, _browserToken);

    /// <summary>True for <c>127.0.0.1:port</c>, <c>[::1]:port</c> and <c>localhost:port</c> with one of the dashboard's ports.</summary>
    public bool IsHostAllowed(HostString host) =>
        host.Port is { } port && _ports.Contains(port)
        && (host.Host is "127.0.0.1" or "[::1]" || string.Equals(host.Host, "localhost", StringComparison.OrdinalIgnoreCase));

    public bool HasSession(HttpContext context) => Matches(context.Request.Cookies[CookieName], _session);

    public void StartSession(HttpContext context) =>
        context.Response.Cookies.Append(CookieName, Encoding.UTF8.GetString(_session), new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Path = "/",
            IsEssential = true,
        });

    /// <summary>Middleware: the Host check for every request, then the session check for pages and the dashboard API.</summary>
    public async Task CheckAsync(HttpContext context, RequestDelegate next)
    {
        if (!IsHostAllowed(context.Request.Host))
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("Host not allowed: use http://127.0.0.1:PORT/.", context.RequestAborted).ConfigureAwait(false);
            return;
        }
        var path = context.Request.Path;
        var open = path.StartsWithSegments("/login") || path.StartsWithSegments("/v1") || path.Value?.StartsWith("/opentelemetry.proto.collector.", StringComparison.Ordinal) == true
            || path.StartsWithSegments("/lib") || path.Equals("/app.css");
        if (open || HasSession(context))
        {
            context.Response.Headers["X-Frame-Options"] = "DENY";
            context.Response.Headers["X-Content-Type-Options"] = "nosniff";
            await next(context).ConfigureAwait(false);
            return;
        }
        if (path.StartsWithSegments("/api"))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            return;
        }
        context.Response.Redirect("/login");
    }

    private static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    private static bool Matches(string? given, byte[] expected) =>
        given is { Length: > 0 } && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), expected);
}
