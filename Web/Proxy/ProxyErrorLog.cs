using Yarp.ReverseProxy.Forwarder;

namespace AiStreaming.Web.Proxy;

/// <summary>
/// Logs each request the proxy could not forward, or whose stream was cut, once and without a stack trace, at a level
/// that says who needs to act. YARP's own <c>HttpForwarder</c> warning (with the exception's stack trace) is turned off
/// in appsettings.json: this line replaces it.
/// <list type="bullet">
/// <item>The destination ended a stream mid-way (a streamer replica died or drained; the client resumes on another):
/// Information.</item>
/// <item>No response at all (connection refused, timeout, bad headers, no destination): Warning; the client got 502/504.</item>
/// <item>The client went away or cancelled: Debug.</item>
/// </list>
/// </summary>
public static partial class ProxyErrorLog
{
    /// <summary>The log category.</summary>
    public const string Category = "AiStreaming.Web.Proxy";

    /// <summary>Proxy pipeline step: after forwarding, logs the request's <see cref="IForwarderErrorFeature"/>, if any.</summary>
    public static IApplicationBuilder UseProxyErrorLog(this IApplicationBuilder pipeline)
    {
        var logger = pipeline.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
        return pipeline.Use(async (context, next) =>
        {
            await next(context);
            if (context.GetForwarderErrorFeature() is { Error: not ForwarderError.None } failure)
            {
                Write(logger, failure.Error, context.Request.Path.Value ?? "", failure.Exception);
            }
        });
    }

    /// <summary>Writes the one line for <paramref name="error"/> on <paramref name="path"/>.</summary>
    /// <param name="logger">Logger of <see cref="Category"/>.</param>
    /// <param name="error">YARP's classification.</param>
    /// <param name="path">The request path (no query: it may hold a subscription token).</param>
    /// <param name="exception">The cause, of which only the type and message are logged.</param>
    public static void Write(ILogger logger, ForwarderError error, string path, Exception? exception)
    {
        var cause = exception is null ? "" : $"{exception.GetType().Name}: {exception.GetBaseException().Message}";
        switch (error)
        {
            case ForwarderError.ResponseBodyDestination or ForwarderError.UpgradeResponseDestination
                or ForwarderError.UpgradeRequestDestination or ForwarderError.RequestBodyDestination:
                StreamEndedByDestination(logger, path, error, cause);
                break;
            case ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.ResponseBodyCanceled
                or ForwarderError.UpgradeRequestCanceled or ForwarderError.UpgradeResponseCanceled
                or ForwarderError.RequestBodyClient or ForwarderError.ResponseBodyClient
                or ForwarderError.UpgradeRequestClient or ForwarderError.UpgradeResponseClient:
                ClientLeft(logger, path, error);
                break;
            default:
                NotForwarded(logger, path, error, cause);
                break;
        }
    }

    [LoggerMessage(LogLevel.Information, "Proxied stream {Path} ended by its destination ({Error}; {Cause}); the client resumes elsewhere")]
    private static partial void StreamEndedByDestination(ILogger logger, string path, ForwarderError error, string cause);

    [LoggerMessage(LogLevel.Debug, "Proxied request {Path} ended by the client ({Error})")]
    private static partial void ClientLeft(ILogger logger, string path, ForwarderError error);

    [LoggerMessage(LogLevel.Warning, "Could not forward {Path} ({Error}; {Cause})")]
    private static partial void NotForwarded(ILogger logger, string path, ForwarderError error, string cause);
}
