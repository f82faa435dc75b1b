using AiStreaming.Streamer.Drain;
using System.Runtime.CompilerServices;
using AiStreaming.Channels;
using AiStreaming.Channels.Security;
using AiStreaming.Streamer.Auth;
using AiStreaming.Streamer.Delivery;
using AiStreaming.Streamer.Presence;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AiStreaming.Streamer.Hubs;

/// <summary>
/// SignalR hub at <c>/hubs/stream</c>. Clients subscribe to channels with their last position and receive events as
/// a server-to-client stream (docs/protocol.md). Errors are <see cref="HubException"/>s whose message starts with a
/// code: <c>invalid_channel</c>, <c>forbidden</c>, <c>token_expired</c>, <c>invalid_position</c>,
/// <c>too_many_subscriptions</c>, <c>too_many_connections</c>, <c>unavailable</c> (presence only: a subscription during a
/// Redis outage streams <c>reconnecting</c> instead). Connections require a user token
/// (JWT bearer from Web); each subscription requires a subscription token of that user for the channel.
/// </summary>
[Authorize]
internal sealed class StreamHub(
    SubscriptionOpener subscriptions,
    PresenceTracker presence,
    SubscriptionGate gate,
    UserLimits limits,
    IOptions<StreamerOptions> options,
    IOptions<StreamerSecurityOptions> security,
    StreamerTelemetry telemetry,
    ShutdownDrain drain,
    TimeProvider time) : Hub
{
    /// <summary>The hub's path.</summary>
    public const string Path = "/hubs/stream";

    private const string SubscriptionCountKey = "subscriptions";
    private const string ConnectionSlotKey = "user-connection";

    private string UserId => UserTokens.UserId(Context.User) ?? throw new HubException("forbidden: not signed in.");

    /// <summary>
    /// Subscribes to <paramref name="channel"/>. The first item is a <c>subscribed</c> frame (<c>data.recovered</c>);
    /// when recovered, the missed events follow, then live events. The stream ends after a <c>resubscribe</c> frame
    /// or when the client cancels it.
    /// </summary>
    /// <param name="channel">Channel name, e.g. <c>conv:{id}</c>.</param>
    /// <param name="sinceOffset">
    /// Last offset processed (a non-negative 64-bit integer), or <see langword="null"/> for live only. Bound as any value
    /// so that a malformed one (<c>1.5</c>, <c>"3"</c>, <c>-1</c>, too large) gets the typed <c>invalid_position</c> error
    /// (<see cref="HubPositions.TryParse"/>) rather than SignalR's uncoded binding failure.
    /// </param>
    /// <param name="epoch">Epoch of <paramref name="sinceOffset"/>.</param>
    /// <param name="token">Subscription token for <paramref name="channel"/> (<c>GET /api/conversations/{id}/token</c>).</param>
    /// <param name="cancellationToken">Fires when the client cancels the stream or disconnects.</param>
    /// <exception cref="HubException">Invalid channel, token or position, or too many subscriptions.</exception>
    public async IAsyncEnumerable<ChannelEvent> Subscribe(
        string channel, object? sinceOffset, string? epoch, string? token, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var userId = UserId;
        if (drain.IsDraining)
        {
            // This replica is leaving (its subscribers were told resubscribe{shutdown}): a subscribe on its old
            // connection must not stay here. Closing the connection sends the client's automatic reconnect through
            // the balancer, which no longer routes to a draining replica.
            Context.Abort();
            throw new HubException("unavailable: this replica is shutting down; reconnect and subscribe again.");
        }
        if (!HubPositions.TryParse(sinceOffset, out var since) || (since is not null && string.IsNullOrEmpty(epoch)))
        {
            gate.LogRefused("invalid_position", channel, "hub");
            throw new HubException("invalid_position: sinceOffset must be a non-negative 64-bit integer (or null) and come with its epoch.");
        }
        var (grant, refusal) = await gate.CheckAsync(channel, token, userId, "hub");
        if (refusal is not null)
        {
            throw new HubException($"{refusal.Code}: {refusal.Reason}");
        }
        var name = grant!.Channel;
        if (await limits.TryAcquireSubscriptionAsync(userId) is not { } slot)
        {
            gate.LogRefused("too_many_subscriptions", channel, "hub");
            throw new HubException($"too_many_subscriptions: at most {security.Value.MaxSubscriptionsPerUser} per user; retry after {UserLimits.RetryAfterSeconds} s.");
        }

        // Streams of one connection run concurrently: count with Interlocked on the box made in OnConnectedAsync.
        var count = (StrongBox<int>)Context.Items[SubscriptionCountKey]!;
        if (Interlocked.Increment(ref count.Value) > options.Value.MaxSubscriptionsPerConnection)
        {
            Interlocked.Decrement(ref count.Value);
            slot.Release();
            throw new HubException($"too_many_subscriptions: at most {options.Value.MaxSubscriptionsPerConnection} per connection.");
        }

        try
        {
            // The subscription lives no longer than its token: then the stream ends and the client subscribes again.
            using var expiry = grant.StartExpiryTimer(time);
            using var delivery = telemetry.StartDelivery(channel, "signalr");
            // Never fails for a Redis outage: the stream then starts with 'reconnecting' and is served when Redis is back.
            await using var subscription = await subscriptions.OpenAsync(name, since, epoch, cancellationToken);
            // A client that stopped reading is cut off: its resubscribe frame can't get through, so end the connection.
            using var stuck = subscription.Stuck.UnsafeRegister(static c => ((HubCallerContext)c!).Abort(), Context);
            // At the token's expiry the stream ends with resubscribe{token_expired}: the client subscribes again with a fresh one.
            using var expired = expiry.Token.UnsafeRegister(static s => ((Subscription)s!).End(ResubscribeReasons.TokenExpired), subscription);
            // Presence is written beside the stream (it may wait for Redis), never before its first frame.
            var join = presence.JoinAsync(name, Context.ConnectionId, grant.UserId, grant.DisplayName);
            delivery.Opened();
            try
            {
                // A subscriber that fell behind catches up in merged frames (fromOffset..offset): one write instead of many.
                await foreach (var e in subscription.Events.ReadAllAsync(merge: true, cancellationToken))
                {
                    yield return e;
                    delivery.Written(e);
                }
            }
            finally
            {
                await presence.LeaveAsync(name, await join);
            }
        }
        finally
        {
            Interlocked.Decrement(ref count.Value);
            slot.Release();
        }
    }

    /// <summary>Who watches <paramref name="channel"/> now, across replicas: users and tab counts, never connection ids.</summary>
    /// <param name="channel">Channel name.</param>
    /// <param name="token">Subscription token for <paramref name="channel"/>: only who may subscribe sees presence.</param>
    /// <exception cref="HubException">Invalid channel or token, or Redis unavailable.</exception>
    public async Task<PresenceSnapshot> GetPresence(string channel, string? token)
    {
        var (grant, refusal) = await gate.CheckAsync(channel, token, UserId, "presence");
        if (refusal is not null)
        {
            throw new HubException($"{refusal.Code}: {refusal.Reason}");
        }
        try
        {
            return await presence.GetAsync(grant!.Channel);
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            throw new HubException("unavailable: presence store unreachable, retry later.");
        }
    }

    public override async Task OnConnectedAsync()
    {
        telemetry.Connected();
        Context.Items[SubscriptionCountKey] = new StrongBox<int>();
        if (await limits.TryAcquireConnectionAsync(UserId) is not { } slot)
        {
            gate.LogRefused("too_many_connections", null, "hub");
            throw new HubException($"too_many_connections: at most {security.Value.MaxConnectionsPerUser} per user; retry after {UserLimits.RetryAfterSeconds} s.");
        }
        Context.Items[ConnectionSlotKey] = slot;
        await base.OnConnectedAsync();
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        telemetry.Disconnected();
        (Context.Items.TryGetValue(ConnectionSlotKey, out var slot) ? slot as UserSlot : null)?.Release();
        return base.OnDisconnectedAsync(exception);
    }
}
