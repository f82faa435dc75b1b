using Microsoft.Extensions.Options;

namespace AiStreaming.Streamer.Auth;

/// <summary>
/// Refuses browser requests to <c>/hubs</c> and <c>/sse</c> from foreign origins (cross-site WebSocket hijacking,
/// cross-site EventSource): a request whose <c>Origin</c> is neither its own origin (<c>Host</c>, or
/// <c>X-Forwarded-Host</c> as a trusted proxy sets it, applied by <see cref="ProxyTrust"/>) nor in
/// <see cref="StreamerSecurityOptions.AllowedOrigins"/> gets a 403 ProblemDetails titled <c>forbidden_origin</c>.
/// </summary>
internal static partial class OriginCheck
{
    /// <summary>Whether <paramref name="origin"/> may call: same origin as the request, or configured.</summary>
    /// <param name="origin">The <c>Origin</c> header value.</param>
    /// <param name="request">The request.</param>
    /// <param name="allowed">Configured origins.</param>
    public static bool IsAllowed(string origin, HttpRequest request, IEnumerable<string> allowed)
    {
        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri))
        {
            return false; // includes "null" (sandboxed frames, file://)
        }
        // Host is the original one when a trusted proxy forwarded the request (ProxyTrust); the raw header is never read.
        var host = request.Host.Value;
        var ownAuthority = uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port}";
        if (string.Equals(ownAuthority, host, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        var normalized = uri.GetLeftPart(UriPartial.Authority);
        return allowed.Any(a => Uri.TryCreate(a, UriKind.Absolute, out var u)
            && string.Equals(u.GetLeftPart(UriPartial.Authority), normalized, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Adds the check in front of <c>/hubs</c> and <c>/sse</c>.</summary>
    /// <param name="app">The application.</param>
    public static IApplicationBuilder UseOriginCheck(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var path = context.Request.Path;
        var origin = context.Request.Headers.Origin.FirstOrDefault();
        if (origin is not null && (path.StartsWithSegments("/hubs") || path.StartsWithSegments("/sse")))
        {
            var options = context.RequestServices.GetRequiredService<IOptions<StreamerSecurityOptions>>().Value;
            if (!IsAllowed(origin, context.Request, options.AllowedOrigins))
            {
                Log.Refused(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(OriginCheck)),
                    origin.Length <= 100 ? origin : origin[..100], path.Value ?? "");
                await TypedResults.Problem(
                    "The request's Origin is not allowed (StreamerSecurity:AllowedOrigins).",
                    statusCode: StatusCodes.Status403Forbidden, title: "forbidden_origin").ExecuteAsync(context);
                return;
            }
        }
        await next(context);
    });

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Information, "Refused request from origin '{Origin}' to {Path}")]
        public static partial void Refused(ILogger logger, string origin, string path);
    }
}
