using Microsoft.AspNetCore.SignalR;

namespace AiStreaming.Streamer.Hubs;

/// <summary>
/// Logging of hub errors, once each: a <see cref="HubException"/> is the typed answer to bad client input (already
/// logged once at Information where it was decided, e.g. by the subscription gate) and is not logged again; any other
/// exception of a hub method is a server fault and is logged here at Error with its stack trace. SignalR's own
/// dispatcher and connection handler, which log every failed invocation and every refused connection (e.g.
/// <c>too_many_connections</c> from <c>OnConnectedAsync</c>) with a stack trace at Error, are therefore raised to Critical in
/// appsettings.json (categories <c>Microsoft.AspNetCore.SignalR.Internal.DefaultHubDispatcher</c> and
/// <c>Microsoft.AspNetCore.SignalR.HubConnectionHandler</c>); this filter logs the server faults of both instead.
/// </summary>
/// <remarks>
/// For a streaming method the filter sees the call that creates the stream; the hub's streaming loop throws only
/// <see cref="HubException"/>s by design (a Redis outage is not an error there: the stream says <c>reconnecting</c>).
/// </remarks>
internal sealed partial class HubErrorFilter(ILogger<HubErrorFilter> logger) : IHubFilter
{
    /// <inheritdoc/>
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        try
        {
            return await next(invocationContext);
        }
        catch (Exception ex) when (ex is not HubException and not OperationCanceledException)
        {
            Log.Failed(logger, invocationContext.HubMethodName, ex);
            throw;
        }
    }

    /// <inheritdoc/>
    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        try
        {
            await next(context);
        }
        catch (Exception ex) when (ex is not HubException and not OperationCanceledException)
        {
            Log.Failed(logger, nameof(OnConnectedAsync), ex);
            throw;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Error, "Hub method {Method} failed")]
        public static partial void Failed(ILogger logger, string method, Exception exception);
    }
}
