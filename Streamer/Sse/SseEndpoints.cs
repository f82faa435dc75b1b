using System.Text;
using AiStreaming.Channels;
using AiStreaming.Streamer.Channels;
using AiStreaming.Streamer.Presence;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AiStreaming.Streamer.Sse;

/// <summary>
/// Plain Server-Sent Events for clients without SignalR (<c>curl -N</c>, the browser's EventSource): the same
/// subscribe-and-recover rules as the hub, with positions in <c>id: {epoch}:{offset}</c> lines and resume through
/// <c>Last-Event-ID</c> (WHATWG HTML, "Server-sent events").
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
    /// <returns><see langword="true"/> for a well-formed id (non-empty epoch, offset ≥ 0).</returns>
    internal static bool TryParsePosition(string? value, out string epoch, out long offset)
    {
        epoch = "";
        offset = 0;
        var colon = value?.LastIndexOf(':') ?? -1;
        if (colon <= 0 || !long.TryParse(value.AsSpan(colon + 1), out offset) || offset < 0)
        {
            return false;
        }
        epoch = value![..colon];
        return true;
    }

    private static async Task<Results<EmptyHttpResult, ProblemHttpResult>> Subscribe(
        string channel,
        HttpContext context,
        ChannelSubscriptions subscriptions,
        PresenceTracker presence,
        IOptions<StreamerOptions> options,
        CancellationToken cancellationToken)
    {
        if (!ChannelName.TryParse(channel, out var name))
        {
            return TypedResults.Problem(
                "Expected a channel name like 'conv:{id}'.", statusCode: StatusCodes.Status400BadRequest, title: "invalid_channel");
        }
        var lastEventId = context.Request.Headers["Last-Event-ID"].FirstOrDefault() ?? context.Request.Query["lastEventId"].FirstOrDefault();
        long? since = null;
        string? epoch = null;
        if (!string.IsNullOrEmpty(lastEventId))
        {
            if (!TryParsePosition(lastEventId, out var e, out var o))
            {
                return TypedResults.Problem(
                    "Last-Event-ID must be '{epoch}:{offset}'.", statusCode: StatusCodes.Status400BadRequest, title: "invalid_position");
            }
            (epoch, since) = (e, o);
        }

        using var delivery = context.RequestServices.GetRequiredService<StreamerTelemetry>().StartDelivery(channel, "sse");
        ChannelSubscription subscription;
        try
        {
            subscription = await subscriptions.OpenAsync(name, since, epoch, cancellationToken);
        }
        catch (RedisException)
        {
            return TypedResults.Problem("Channel store unreachable, retry later.", statusCode: StatusCodes.Status503ServiceUnavailable, title: "unavailable");
        }

        await using (subscription)
        {
            var response = context.Response;
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache";
            response.Headers["X-Accel-Buffering"] = "no"; // tells nginx-style proxies not to buffer
            context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

            var clientId = "sse-" + context.TraceIdentifier;
            await presence.JoinAsync(name, clientId);
            try
            {
                await WriteAsync(response, "retry: 1000\n\n", cancellationToken);
                await PumpAsync(response, subscription.Events, options.Value.SseHeartbeatInterval, delivery, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // the client went away
            }
            finally
            {
                await presence.LeaveAsync(name, clientId);
            }
        }
        return TypedResults.Empty;
    }

    private static async Task PumpAsync(HttpResponse response, SubscriberBuffer events, TimeSpan heartbeat, DeliveryTrace delivery, CancellationToken cancellationToken)
    {
        var builder = new StringBuilder();
        Task? tick = null; // one timer per heartbeat period, not one per event
        while (true)
        {
            var wait = events.WaitToReadAsync(cancellationToken).AsTask();
            while (await Task.WhenAny(wait, tick ??= Task.Delay(heartbeat, cancellationToken)) != wait)
            {
                tick = null;
                await WriteAsync(response, ": heartbeat\n\n", cancellationToken);
            }
            if (!await wait)
            {
                return; // ended after a resubscribe frame: the client reconnects with Last-Event-ID
            }
            builder.Clear();
            ChannelEvent? last = null;
            while (events.TryRead(out var e))
            {
                AppendFrame(builder, e);
                last = e;
            }
            await WriteAsync(response, builder.ToString(), cancellationToken);
            if (last is not null)
            {
                delivery.Written(last); // once per written batch
            }
        }
    }

    /// <summary>Formats one SSE frame; events with a position carry <c>id: {epoch}:{offset}</c>.</summary>
    internal static void AppendFrame(StringBuilder builder, ChannelEvent e)
    {
        if (e.Epoch is not null && (e.Offset > 0 || e.Type == ChannelEventTypes.Subscribed))
        {
            builder.Append("id: ").Append(e.Epoch).Append(':').Append(e.Offset).Append('\n');
        }
        // Event JSON is compact (no raw newlines), so one data line carries it.
        builder.Append("event: ").Append(e.Type).Append('\n')
            .Append("data: ").Append(e.ToJson()).Append("\n\n");
    }

    private static async Task WriteAsync(HttpResponse response, string text, CancellationToken cancellationToken)
    {
        await response.WriteAsync(text, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }
}
