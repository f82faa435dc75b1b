using AiStreaming.Channels;
using AiStreaming.Channels.Security;
using AiStreaming.Streamer.Auth;
using AiStreaming.Streamer.Delivery;
using AiStreaming.Streamer.Presence;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace AiStreaming.Streamer.Sse;

/// <summary>
/// Plain Server-Sent Events for clients without SignalR (<c>curl -N</c>, the browser's EventSource): the same
/// subscribe-and-recover rules as the hub, with positions in <c>id: {epoch}:{offset}</c> lines and resume through
/// <c>Last-Event-ID</c> (WHATWG HTML, "Server-sent events"). A subscription token for the channel is required in
/// <c>?token=</c> (EventSource cannot set headers): 403 <c>forbidden</c> or 401 <c>token_expired</c> otherwise. When the
/// request carries a user token (Web attaches one to every proxied request), the subscription token must name that user
/// (403 <c>forbidden</c> otherwise), as on the hub. Too many subscriptions of the user across replicas: 429
/// <c>too_many_subscriptions</c> with <c>Retry-After</c>.
/// </summary>
internal static class SseEndpoints
{
    /// <summary>Maps <c>GET /sse/{channel}</c>.</summary>
    public static IEndpointRouteBuilder MapSseApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/sse/{channel}", Subscribe).WithName("SseSubscribe");
        return app;
    }

    /// <summary>Parses a <c>{epoch}:{offset}</c> event id.</summary>
    /// <returns>
    /// <see langword="true"/> for a well-formed id: a non-empty epoch, and an offset of ASCII digits only that fits a
    /// 64-bit integer (no sign, space, fraction or exponent); anything else is <c>invalid_position</c>.
    /// </returns>
    internal static bool TryParsePosition(string? value, out string epoch, out long offset)
    {
        epoch = "";
        offset = 0;
        var colon = value?.LastIndexOf(':') ?? -1;
        if (colon <= 0 || !long.TryParse(value.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out offset))
        {
            return false;
        }
        epoch = value![..colon];
        return true;
    }

    private static async Task<Results<EmptyHttpResult, ProblemHttpResult>> Subscribe(
        string channel,
        HttpContext context,
        SubscriptionOpener subscriptions,
        PresenceTracker presence,
        SseHeartbeats heartbeats,
        SubscriptionGate gate,
        UserLimits limits,
        IOptions<StreamerSecurityOptions> security,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        // Through Web the caller is known (its user token): the subscription token must then be that user's.
        var caller = UserTokens.UserId(context.User);
        var (grant, refusal) = await gate.CheckAsync(channel, context.Request.Query["token"].FirstOrDefault(), caller, "sse");
        if (refusal is not null)
        {
            return TypedResults.Problem(refusal.Reason, statusCode: refusal.StatusCode, title: refusal.Code);
        }
        var name = grant!.Channel;
        var lastEventId = context.Request.Headers["Last-Event-ID"].FirstOrDefault() ?? context.Request.Query["lastEventId"].FirstOrDefault();
        long? since = null;
        string? epoch = null;
        if (!string.IsNullOrEmpty(lastEventId))
        {
            if (!TryParsePosition(lastEventId, out var e, out var o))
            {
                gate.LogRefused("invalid_position", channel, "sse");
                return TypedResults.Problem(
                    "Last-Event-ID must be '{epoch}:{offset}'.", statusCode: StatusCodes.Status400BadRequest, title: "invalid_position");
            }
            (epoch, since) = (e, o);
        }

        if (await limits.TryAcquireSubscriptionAsync(grant.UserId) is not { } slot)
        {
            gate.LogRefused("too_many_subscriptions", channel, "sse");
            context.Response.Headers.RetryAfter = UserLimits.RetryAfter;
            return TypedResults.Problem(
                $"At most {security.Value.MaxSubscriptionsPerUser} subscriptions per user.",
                statusCode: StatusCodes.Status429TooManyRequests, title: "too_many_subscriptions");
        }
        try
        {
            // The stream ends when the token expires: reconnect with a fresh token in the URL.
            using var expiry = grant.StartExpiryTimer(time);
            return await StreamAsync(context, name, since, epoch, grant, subscriptions, presence, heartbeats, expiry.Token, cancellationToken);
        }
        finally
        {
            slot.Release();
        }
    }

    private static async Task<Results<EmptyHttpResult, ProblemHttpResult>> StreamAsync(
        HttpContext context, ChannelName name, long? since, string? epoch, SubscriptionGrant grant,
        SubscriptionOpener subscriptions, PresenceTracker presence, SseHeartbeats heartbeats, CancellationToken tokenExpiry,
        CancellationToken cancellationToken)
    {
        using var delivery = context.RequestServices.GetRequiredService<StreamerTelemetry>().StartDelivery(name.Value, "sse");
        // Never fails for a Redis outage: the stream then starts with 'reconnecting' and heartbeats, and is served when Redis is back.
        await using var subscription = await subscriptions.OpenAsync(name, since, epoch, cancellationToken);
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no"; // tells nginx-style proxies not to buffer
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        // Presence is written beside the stream (it may wait for Redis), never before its first frame.
        var join = presence.JoinAsync(name, "sse-" + context.TraceIdentifier, grant.UserId, grant.DisplayName);
        delivery.Opened();
        // A client that stopped reading is cut off: the resubscribe frame can't get through, so end the connection.
        using var stuck = subscription.Stuck.UnsafeRegister(static c => ((HttpContext)c!).Abort(), context);
        using var beat = heartbeats.Add(subscription.Events);
        // At the token's expiry the stream ends with resubscribe{token_expired}: reconnect with a fresh token in the URL.
        using var expired = tokenExpiry.UnsafeRegister(static s => ((Subscription)s!).End(ResubscribeReasons.TokenExpired), subscription);
        try
        {
            await SseFrames.WriteAsync(response.BodyWriter, name.Value, subscription.Events, delivery, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the client went away (or was cut off)
        }
        finally
        {
            await presence.LeaveAsync(name, await join);
        }
        return TypedResults.Empty;
    }
}
