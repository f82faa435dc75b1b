using AiStreaming.Channels;
using Microsoft.Extensions.Options;

namespace AiStreaming.Streamer.Channels;

/// <summary>
/// Opens subscriptions with recovery (DESIGN.md "Subscribe and recover", after Centrifugo): subscribe live first
/// (events held), read position and history atomically, then deliver <c>subscribed</c>, the replay and the held
/// live events, every offset once and in order. Used by the SignalR hub and the SSE endpoint alike.
/// </summary>
internal sealed class ChannelSubscriptions(
    ChannelDispatcher dispatcher,
    ChannelHistory history,
    IOptions<StreamerOptions> options,
    StreamerTelemetry telemetry,
    TimeProvider time)
{
    /// <summary>Opens a subscription to <paramref name="channel"/> from the client's position, if any.</summary>
    /// <param name="channel">The channel.</param>
    /// <param name="sinceOffset">Last offset the client processed, or <see langword="null"/>.</param>
    /// <param name="epoch">Epoch of <paramref name="sinceOffset"/>.</param>
    /// <param name="cancellationToken">Cancels opening.</param>
    /// <returns>The subscription; dispose it to unsubscribe.</returns>
    /// <exception cref="StackExchange.Redis.RedisException">Redis is unreachable.</exception>
    public async Task<ChannelSubscription> OpenAsync(ChannelName channel, long? sinceOffset, string? epoch, CancellationToken cancellationToken)
    {
        var subscriber = new ChannelSubscriber(channel, options.Value, telemetry, time);
        var registration = await dispatcher.AddAsync(subscriber, cancellationToken);
        try
        {
            var wantsRecovery = sinceOffset is not null && epoch is not null;
            // A position at long.MaxValue is ahead of any channel: read the position only (recovered=false).
            var replay = wantsRecovery && sinceOffset < long.MaxValue ? options.Value.MaxReplayEvents : 0;
            var snapshot = await history.ReadAsync(channel, replay > 0 ? sinceOffset!.Value : 0, replay);
            var plan = Recovery.Plan(sinceOffset, epoch, snapshot);
            if (wantsRecovery)
            {
                telemetry.Recovery(plan.Recovered);
            }
            subscriber.Start(channel.Value, plan);
            telemetry.SubscriptionOpened();
            return new ChannelSubscription(subscriber, registration, telemetry);
        }
        catch
        {
            await registration.DisposeAsync();
            throw;
        }
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
