using System.Diagnostics.Metrics;
using AiStreaming.Channels;
using AiStreaming.Streamer;
using AiStreaming.Streamer.Delivery;
using AiStreaming.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AiStreaming.Tests.Streamer;

/// <summary>Subscribe-and-recover against a real Redis while a publisher keeps publishing.</summary>
[Collection(ServersCollection.Name)]
public class SubscriptionOpenerTests(ServersFixture servers)
{
    private static readonly StreamerTelemetry Telemetry =
        new(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());

    private SubscriptionOpener NewSubscriptions(out ChannelDispatcher dispatcher, bool sharded = false)
    {
        dispatcher = new ChannelDispatcher(servers.Redis, Telemetry, NullLogger<ChannelDispatcher>.Instance,
            Options.Create(new ChannelOptions { ShardedPubSub = sharded }));
        var history = new ChannelHistory(servers.Redis, TimeSpan.FromSeconds(5));
        var options = Options.Create(new StreamerOptions());
        var outages = new RedisOutages(servers.Redis, dispatcher, history, options, Telemetry, TimeProvider.System, NullLogger<RedisOutages>.Instance);
        return new SubscriptionOpener(dispatcher, history, outages, options, Telemetry, TimeProvider.System);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(40, false)]
    [InlineData(120, false)]
    [InlineData(40, true)] // sharded pub/sub (SPUBLISH/SSUBSCRIBE), as on a Redis Cluster
    public async Task Resubscribe_during_publishing_replays_missed_offsets_then_continues_live_exactly_once(int resumeAfter, bool sharded)
    {
        const int total = 300;
        var publisher = new ChannelPublisher(servers.Redis, new ChannelOptions { ShardedPubSub = sharded });
        var subscriptions = NewSubscriptions(out var dispatcher, sharded);
        var channel = ChannelName.ForConversation(Guid.NewGuid());

        var first = await publisher.PublishAsync(channel, ChannelEventTypes.Delta, null, ChannelEvent.ToData(new { text = "1 " }));
        var published = 1;
        using var stop = new CancellationTokenSource();
        var producer = Task.Run(async () =>
        {
            while (published < total)
            {
                await publisher.PublishAsync(channel, ChannelEventTypes.Delta, null, ChannelEvent.ToData(new { text = $"{published + 1} " }));
                Interlocked.Increment(ref published);
            }
        });
        await Eventually.UntilAsync(() => Volatile.Read(ref published) >= resumeAfter + 5, TimeSpan.FromSeconds(20), "publishing to pass the resume point");

        // The client last processed `resumeAfter` and subscribes while offsets keep coming.
        await using var subscription = await subscriptions.OpenAsync(channel, resumeAfter, first.Epoch, CancellationToken.None);
        var offsets = new List<long>();
        var text = new System.Text.StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await foreach (var e in subscription.Events.ReadAllAsync(cancellationToken: timeout.Token))
        {
            if (e.Type == ChannelEventTypes.Subscribed)
            {
                Assert.True(e.Data!.Value.GetProperty("recovered").GetBoolean());
                Assert.Equal(resumeAfter, e.Offset);
                continue;
            }
            // A slow reader may get consecutive deltas coalesced into one frame covering fromOffset..offset.
            for (var o = e.FromOffset ?? e.Offset; o <= e.Offset; o++)
            {
                offsets.Add(o);
            }
            text.Append(e.DeltaText);
            if (e.Offset == total)
            {
                break;
            }
        }
        await producer;

        Assert.Equal(Enumerable.Range(resumeAfter + 1, total - resumeAfter).Select(i => (long)i), offsets);
        Assert.Equal(string.Concat(Enumerable.Range(resumeAfter + 1, total - resumeAfter).Select(i => $"{i} ")), text.ToString());
    }

    [Fact]
    public async Task A_position_from_another_epoch_is_not_recovered_and_starts_at_the_top()
    {
        var publisher = new ChannelPublisher(servers.Redis, new ChannelOptions());
        var subscriptions = NewSubscriptions(out var dispatcher);
        var channel = ChannelName.ForConversation(Guid.NewGuid());
        var position = await publisher.PublishAsync(channel, ChannelEventTypes.Delta, null, ChannelEvent.ToData(new { text = "a" }));

        await using var subscription = await subscriptions.OpenAsync(channel, 0, "not-" + position.Epoch, CancellationToken.None);
        await publisher.PublishAsync(channel, ChannelEventTypes.Delta, null, ChannelEvent.ToData(new { text = "b" }));

        var frames = new List<ChannelEvent>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await foreach (var e in subscription.Events.ReadAllAsync(cancellationToken: timeout.Token))
        {
            frames.Add(e);
            if (frames.Count == 2)
            {
                break;
            }
        }

        Assert.False(frames[0].Data!.Value.GetProperty("recovered").GetBoolean());
        Assert.Equal(position.Epoch, frames[0].Epoch);
        Assert.Equal(1, frames[0].Offset);
        Assert.Equal("b", frames[1].DeltaText);
    }

    [Fact]
    public async Task Last_subscriber_leaving_unsubscribes_from_redis()
    {
        var subscriptions = NewSubscriptions(out var dispatcher);
        var channel = ChannelName.ForConversation(Guid.NewGuid());

        var a = await subscriptions.OpenAsync(channel, null, null, CancellationToken.None);
        var b = await subscriptions.OpenAsync(channel, null, null, CancellationToken.None);
        Assert.Equal(1, dispatcher.ChannelCount);
        await a.DisposeAsync();
        Assert.Equal(1, dispatcher.ChannelCount);
        await b.DisposeAsync();

        Assert.Equal(0, dispatcher.ChannelCount);
        var numsub = (StackExchange.Redis.RedisResult[])(await servers.Redis.GetDatabase().ExecuteAsync("PUBSUB", "NUMSUB", channel.PubSubChannel.ToString()))!;
        Assert.Equal(0, (long)numsub[1]);
    }
}
