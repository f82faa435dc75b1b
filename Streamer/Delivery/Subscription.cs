namespace AiStreaming.Streamer.Delivery;

/// <summary>
/// An open subscription as its transport holds it (from <see cref="SubscriptionOpener"/>): read <see cref="Events"/>
/// until it ends; dispose to unsubscribe.
/// </summary>
internal sealed class Subscription(
    SubscriptionFeed subscriber,
    IAsyncDisposable registration,
    StreamerTelemetry telemetry) : IAsyncDisposable
{
    private int _disposed;

    /// <summary>Outgoing events; the sequence ends after a <c>resubscribe</c> frame.</summary>
    public OutgoingFrames Events => subscriber.Output;

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
