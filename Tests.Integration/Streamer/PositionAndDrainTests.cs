using System.Diagnostics.Metrics;
using AiStreaming.Channels;
using AiStreaming.Streamer;
using AiStreaming.Streamer.Delivery;
using AiStreaming.Streamer.Drain;
using AiStreaming.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AiStreaming.Tests.Streamer;

/// <summary>A valid position ahead of the channel is not an outage; a drain turns readiness unhealthy and ends every subscription with resubscribe{shutdown}.</summary>
[Collection(ServersCollection.Name)]
public class PositionAndDrainTests(ServersFixture servers)
{
    private static readonly StreamerTelemetry Telemetry =
        new(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());

    private SubscriptionOpener NewSubscriptions(ChannelDispatcher dispatcher, StreamerOptions settings)
    {
        var history = new ChannelHistory(servers.Redis, TimeSpan.FromSeconds(5));
        var options = Options.Create(settings);
        var outages = new RedisOutages(servers.Redis, dispatcher, history, options, Telemetry, TimeProvider.System, NullLogger<RedisOutages>.Instance);
        return new SubscriptionOpener(dispatcher, history, outages, options, Telemetry, TimeProvider.System);
    }

    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData(long.MaxValue - 1)]
    [InlineData(1000)]
    public async Task A_position_ahead_of_the_channel_is_answered_recovered_false_at_the_top(long since)
    {
        var dispatcher = new ChannelDispatcher(servers.Redis, Telemetry, NullLogger<ChannelDispatcher>.Instance);
        var subscriptions = NewSubscriptions(dispatcher, new StreamerOptions());
        var channel = ChannelName.ForConversation(Guid.NewGuid());
        var position = await new ChannelPublisher(servers.Redis, new ChannelOptions())
            .PublishAsync(channel, ChannelEventTypes.Delta, null, ChannelEvent.ToData(new { text = "a" }));

        await using var subscription = await subscriptions.OpenAsync(channel, since, position.Epoch, CancellationToken.None);

        Assert.True(subscription.Events.TryRead(out var subscribed));
        Assert.Equal(ChannelEventTypes.Subscribed, subscribed.Type);
        Assert.False(subscribed.Data!.Value.GetProperty("recovered").GetBoolean());
        Assert.Equal((position.Epoch, 1L), (subscribed.Epoch, subscribed.Offset));
    }

    [Fact]
    public async Task Drain_turns_readiness_unhealthy_then_ends_every_subscription_with_resubscribe_shutdown()
    {
        var settings = new StreamerOptions { DrainDelay = TimeSpan.FromMilliseconds(300) };
        var dispatcher = new ChannelDispatcher(servers.Redis, Telemetry, NullLogger<ChannelDispatcher>.Instance);
        var subscriptions = NewSubscriptions(dispatcher, settings);
        var drain = new ShutdownDrain(dispatcher, Options.Create(settings), TimeProvider.System, NullLogger<ShutdownDrain>.Instance);
        var health = new DrainHealthCheck(drain);
        var channel = ChannelName.ForConversation(Guid.NewGuid());
        await using var a = await subscriptions.OpenAsync(channel, null, null, CancellationToken.None);
        await using var b = await subscriptions.OpenAsync(ChannelName.ForConversation(Guid.NewGuid()), null, null, CancellationToken.None);
        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(new HealthCheckContext())).Status);

        var draining = Task.Run(drain.Run);
        await Eventually.UntilAsync(() => drain.IsDraining, TimeSpan.FromSeconds(5), "draining");
        Assert.Equal(HealthStatus.Unhealthy, (await health.CheckHealthAsync(new HealthCheckContext())).Status);
        Assert.Equal(1, a.Events.Count); // still serving during the delay: only 'subscribed' queued, no resubscribe yet
        await draining;

        foreach (var subscription in new[] { a, b })
        {
            var frames = new List<ChannelEvent>();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await foreach (var e in subscription.Events.ReadAllAsync(cancellationToken: timeout.Token))
            {
                frames.Add(e);
            }
            Assert.Equal(["subscribed", "resubscribe"], frames.Select(f => f.Type));
            Assert.Equal(ResubscribeReasons.Shutdown, frames[1].Data!.Value.GetProperty("reason").GetString());
        }
    }
}
