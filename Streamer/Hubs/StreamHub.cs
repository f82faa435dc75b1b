using System.Runtime.CompilerServices;
using AiStreaming.Channels;
using AiStreaming.Streamer.Channels;
using AiStreaming.Streamer.Presence;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AiStreaming.Streamer.Hubs;

/// <summary>
/// SignalR hub at <c>/hubs/stream</c>. Clients subscribe to channels with their last position and receive events as
/// a server-to-client stream (docs/protocol.md). Errors are <see cref="HubException"/>s whose message starts with a
/// code: <c>invalid_channel</c>, <c>invalid_position</c>, <c>too_many_subscriptions</c>, <c>unavailable</c>.
/// </summary>
internal sealed class StreamHub(
    ChannelSubscriptions subscriptions,
    PresenceTracker presence,
    IOptions<StreamerOptions> options,
    StreamerTelemetry telemetry) : Hub
{
    /// <summary>The hub's path.</summary>
    public const string Path = "/hubs/stream";

    private const string SubscriptionCountKey = "subscriptions";

    /// <summary>
    /// Subscribes to <paramref name="channel"/>. The first item is a <c>subscribed</c> frame (<c>data.recovered</c>);
    /// when recovered, the missed events follow, then live events. The stream ends after a <c>resubscribe</c> frame
    /// or when the client cancels it.
    /// </summary>
    /// <param name="channel">Channel name, e.g. <c>conv:{id}</c>.</param>
    /// <param name="sinceOffset">Last offset processed, or <see langword="null"/> for live only.</param>
    /// <param name="epoch">Epoch of <paramref name="sinceOffset"/>.</param>
    /// <param name="cancellationToken">Fires when the client cancels the stream or disconnects.</param>
    /// <exception cref="HubException">Invalid channel or position, too many subscriptions, or Redis unavailable.</exception>
    public async IAsyncEnumerable<ChannelEvent> Subscribe(
        string channel, long? sinceOffset, string? epoch, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!ChannelName.TryParse(channel, out var name))
        {
            throw new HubException("invalid_channel: expected a channel name like 'conv:{id}' ([a-z][a-z0-9_-]{0,31}:[A-Za-z0-9_-]{1,64}).");
        }
        if (sinceOffset < 0 || (sinceOffset is not null && string.IsNullOrEmpty(epoch)))
        {
            throw new HubException("invalid_position: sinceOffset must be >= 0 and come with its epoch.");
        }

        // Streams of one connection run concurrently: count with Interlocked on the box made in OnConnectedAsync.
        var count = (StrongBox<int>)Context.Items[SubscriptionCountKey]!;
        if (Interlocked.Increment(ref count.Value) > options.Value.MaxSubscriptionsPerConnection)
        {
            Interlocked.Decrement(ref count.Value);
            throw new HubException($"too_many_subscriptions: at most {options.Value.MaxSubscriptionsPerConnection} per connection.");
        }

        try
        {
            using var delivery = telemetry.StartDelivery(channel, "signalr");
            await using var subscription = await OpenAsync(name, sinceOffset, epoch, cancellationToken);
            await presence.JoinAsync(name, Context.ConnectionId);
            try
            {
                await foreach (var e in subscription.Events.ReadAllAsync(cancellationToken))
                {
                    yield return e;
                    delivery.Written(e);
                }
            }
            finally
            {
                await presence.LeaveAsync(name, Context.ConnectionId);
            }
        }
        finally
        {
            Interlocked.Decrement(ref count.Value);
        }
    }

    /// <summary>Who watches <paramref name="channel"/> now, across replicas.</summary>
    /// <exception cref="HubException">Invalid channel or Redis unavailable.</exception>
    public async Task<PresenceSnapshot> GetPresence(string channel)
    {
        if (!ChannelName.TryParse(channel, out var name))
        {
            throw new HubException("invalid_channel: expected a channel name like 'conv:{id}'.");
        }
        try
        {
            return await presence.GetAsync(name);
        }
        catch (RedisException)
        {
            throw new HubException("unavailable: presence store unreachable, retry later.");
        }
    }

    public override Task OnConnectedAsync()
    {
        telemetry.Connected();
        Context.Items[SubscriptionCountKey] = new StrongBox<int>();
        return base.OnConnectedAsync();
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        telemetry.Disconnected();
        return base.OnDisconnectedAsync(exception);
    }

    private async Task<ChannelSubscription> OpenAsync(ChannelName name, long? sinceOffset, string? epoch, CancellationToken cancellationToken)
    {
        try
        {
            return await subscriptions.OpenAsync(name, sinceOffset, epoch, cancellationToken);
        }
        catch (RedisException)
        {
            throw new HubException("unavailable: channel store unreachable, retry later.");
        }
    }
}
