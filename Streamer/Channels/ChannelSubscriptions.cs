using AiStreaming.Channels;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AiStreaming.Streamer.Channels;

/// <summary>
/// Opens subscriptions with recovery (docs/architecture.md "Channels, offsets, epochs", after Centrifugo): subscribe live first
/// (events held), read position and history atomically, then deliver <c>subscribed</c>, the replay and the held
/// live events, every offset once and in order. Used by the SignalR hub and the SSE endpoint alike.
/// </summary>
internal sealed class ChannelSubscriptions(
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
    public async Task<ChannelSubscription> OpenAsync(ChannelName channel, long? sinceOffset, string? epoch, CancellationToken cancellationToken)
    {
        var subscriber = new ChannelSubscriber(channel, options.Value, telemetry, time, sinceOffset, epoch);
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
        return new ChannelSubscription(subscriber, registration, telemetry);
    }
}

/// <summary>An open subscription: read <see cref="Events"/> until it ends; dispose to unsubscribe.</summary>
internal sealed class ChannelSubscription(
    ChannelSubscriber subscriber,
    IAsyncDisposable registration,
    StreamerTelemetry telemetry) : IAsyncDisposable
{
    private int _disposed;

    /// <summary>Outgoing events; the sequence ends after a <c>resubscribe</c> frame.</summary>
    public SubscriberBuffer Events => subscriber.Output;

    /// <summary>Ends the subscription with a <c>resubscribe</c> frame carrying <paramref name="reason"/> (<see cref="ResubscribeReasons"/>).</summary>
    /// <param name="reason">Why.</param>
    public void End(string reason) => subscriber.Drop(reason);

    /// <summary>Fires when the client stopped reading for <see cref="StreamerOptions.SlowConsumerTimeout"/>: abort its connection.</summary>
    public CancellationToken Stuck => subscriber.Stuck;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            subscriber.Output.Complete();
            await registration.DisposeAsync();
            telemetry.SubscriptionClosed();
        }
    }
}
