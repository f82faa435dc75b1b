using AiStreaming.Channels;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AiStreaming.Streamer.Delivery;

/// <summary>
/// Opens subscriptions with recovery (docs/architecture.md "Channels, offsets, epochs", after Centrifugo): subscribe live first
/// (events held), read position and history atomically, then deliver <c>subscribed</c>, the replay and the held
/// live events, every offset once and in order. Used by the SignalR hub and the SSE endpoint alike.
/// </summary>
internal sealed class SubscriptionOpener(
    ChannelDispatcher dispatcher,
    ChannelHistory history,
    RedisOutages outages,
    IOptions<StreamerOptions> options,
    StreamerTelemetry telemetry,
    TimeProvider time)
{
    /// <summary>
    /// Opens a subscription to <paramref name="channel"/> from the client's position, if any. Never fails for a Redis
    /// outage: the subscription then starts with a <c>reconnecting</c> frame and starts for real when Redis answers
    /// (<see cref="RedisOutages"/>).
    /// </summary>
    /// <param name="channel">The channel.</param>
    /// <param name="sinceOffset">Last offset the client processed (≥ 0), or <see langword="null"/>.</param>
    /// <param name="epoch">Epoch of <paramref name="sinceOffset"/>.</param>
    /// <param name="cancellationToken">Cancels opening.</param>
    /// <returns>The subscription; dispose it to unsubscribe.</returns>
    public async Task<Subscription> OpenAsync(ChannelName channel, long? sinceOffset, string? epoch, CancellationToken cancellationToken)
    {
        var subscriber = new SubscriptionFeed(channel, options.Value, telemetry, time, sinceOffset, epoch);
        IAsyncDisposable? registration = null;
        try
        {
            if (outages.IsDown)
            {
                throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, "Redis is known to be unreachable.");
            }
            registration = await dispatcher.AddAsync(subscriber, cancellationToken);
            var (after, max) = subscriber.HistoryRequest;
            var snapshot = await history.ReadAsync(channel, after, max);
            if (subscriber.Resume(snapshot) is { } plan && sinceOffset is not null && epoch is not null)
            {
                telemetry.Recovery(plan.Recovered);
            }
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex) || ex is PendingSubscriptionException)
        {
            registration ??= (ex as PendingSubscriptionException)?.Registration ?? await dispatcher.AddPendingAsync(subscriber, cancellationToken);
            outages.Suspend(subscriber);
        }
        catch
        {
            if (registration is not null)
            {
                await registration.DisposeAsync();
            }
            throw;
        }
        telemetry.SubscriptionOpened();
        return new Subscription(subscriber, registration, telemetry);
    }
}
