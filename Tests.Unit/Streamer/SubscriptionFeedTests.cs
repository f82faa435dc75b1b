using System.Diagnostics.Metrics;
using AiStreaming.Channels;
using AiStreaming.Streamer;
using AiStreaming.Streamer.Delivery;
using Microsoft.Extensions.DependencyInjection;
using static AiStreaming.Tests.Channels.EventFactory;

namespace AiStreaming.Tests.Streamer;

/// <summary>The replay/live merge: live events held during recovery are merged with the replay, each offset once.</summary>
public class SubscriptionFeedTests
{
    [Fact]
    public void Merges_replay_with_live_events_held_during_recovery_without_duplicates_or_gaps()
    {
        var subscriber = NewSubscriber();
        // Live events 5..8 arrive while history (4..6) is being read.
        foreach (var e in Deltas(5, 8))
        {
            subscriber.OnEvent(e);
        }

        subscriber.Start("conv:test", Recovery.Plan(3, "e1", new HistorySnapshot("e1", 6, Deltas(4, 6))));
        subscriber.OnEvent(Delta(9, "t9 "));

        var frames = Drain(subscriber);
        Assert.Equal(ChannelEventTypes.Subscribed, frames[0].Type);
        Assert.Equal([4L, 5, 6, 7, 8, 9], frames.Skip(1).Select(f => f.Offset));
        Assert.Null(subscriber.DropReason);
    }

    [Fact]
    public void Fresh_subscription_skips_live_events_at_or_below_the_top()
    {
        var subscriber = NewSubscriber();
        subscriber.OnEvent(Delta(6, "old"));

        subscriber.Start("conv:test", Recovery.Plan(null, null, new HistorySnapshot("e1", 6, [])));
        subscriber.OnEvent(Delta(7, "new"));

        var frames = Drain(subscriber);
        Assert.Equal(["subscribed", "delta"], frames.Select(f => f.Type));
        Assert.Equal("new", frames[1].DeltaText);
    }

    [Theory]
    [InlineData(9, "e1", ResubscribeReasons.Gap)]
    [InlineData(1, "e2", ResubscribeReasons.EpochChanged)]
    public void Ends_with_a_resubscribe_frame_when_delivery_cannot_continue(long offset, string epoch, string reason)
    {
        var subscriber = NewSubscriber();
        subscriber.Start("conv:test", Recovery.Plan(6, "e1", new HistorySnapshot("e1", 6, [])));

        subscriber.OnEvent(Delta(offset, "x", epoch));
        subscriber.OnEvent(Delta(7, "after"));

        var frames = Drain(subscriber);
        Assert.Equal(reason, subscriber.DropReason);
        Assert.Equal(["subscribed", "resubscribe"], frames.Select(f => f.Type));
        Assert.Equal(6, frames[^1].Offset); // where to resume from
    }

    [Fact]
    public void Drops_a_slow_consumer_that_cannot_be_coalesced()
    {
        var subscriber = NewSubscriber(capacity: 8);
        subscriber.Start("conv:test", Recovery.Plan(null, null, new HistorySnapshot("e1", 0, [])));

        for (var o = 1; o <= 20; o++)
        {
            subscriber.OnEvent(o % 2 == 0 ? Delta(o, "x") : Delta(o, "y", messageId: Guid.NewGuid()));
        }

        Assert.Equal(ResubscribeReasons.SlowConsumer, subscriber.DropReason);
        Assert.True(subscriber.Output.Count <= 8 + 2);
    }

    private static SubscriptionFeed NewSubscriber(int capacity = 256)
    {
        var options = new StreamerOptions { SubscriberBufferCapacity = capacity };
        return new SubscriptionFeed(ChannelName.Parse("conv:test"), options, Telemetry);
    }

    private static readonly StreamerTelemetry Telemetry =
        new(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());

    private static List<ChannelEvent> Drain(SubscriptionFeed subscriber)
    {
        var frames = new List<ChannelEvent>();
        while (subscriber.Output.TryRead(out var e))
        {
            frames.Add(e);
        }
        return frames;
    }
}
