using System.Diagnostics.Metrics;
using AiStreaming.Channels;
using AiStreaming.Streamer;
using AiStreaming.Streamer.Delivery;
using Microsoft.Extensions.DependencyInjection;
using static AiStreaming.Tests.Channels.EventFactory;

namespace AiStreaming.Tests.Streamer;

/// <summary>Suspend on a Redis outage (reconnecting, live events held) and resume from the last delivered offset.</summary>
public class SubscriptionFeedOutageTests
{
    private static readonly StreamerTelemetry Telemetry =
        new(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());

    [Fact]
    public void Resumes_with_subscribed_at_the_last_offset_then_the_missed_and_held_events_each_once()
    {
        var subscriber = Started(top: 6);
        subscriber.Suspend(ReconnectingReasons.RedisUnavailable);
        subscriber.Suspend(ReconnectingReasons.RedisUnavailable); // once per outage
        subscriber.OnEvent(Delta(8, "held")); // arrives after Redis returned, before history was read
        subscriber.OnEvent(Delta(9, "held"));
        Assert.True(subscriber.IsSuspended);
        Assert.Equal((6L, 10_000), subscriber.HistoryRequest);

        subscriber.Resume(new HistorySnapshot("e1", 8, Deltas(7, 8)));

        var frames = Drain(subscriber);
        Assert.Equal(["subscribed", "reconnecting", "subscribed", "delta", "delta", "delta"], frames.Select(f => f.Type));
        var reconnecting = frames[1];
        Assert.Equal((0L, "e1"), (reconnecting.Offset, reconnecting.Epoch)); // a status, no position
        Assert.Equal("redis_unavailable", reconnecting.Data!.Value.GetProperty("reason").GetString());
        Assert.True(frames[2].Data!.Value.GetProperty("recovered").GetBoolean());
        Assert.Equal(6, frames[2].Offset);
        Assert.Equal([7L, 8, 9], frames.Skip(3).Select(f => f.Offset));
        Assert.False(subscriber.IsSuspended);
    }

    [Theory]
    [InlineData("e2", 3, ResubscribeReasons.EpochChanged)] // Redis came back without the channel's data
    [InlineData("e1", 12, ResubscribeReasons.Gap)] // history no longer holds offset 7
    public void Ends_with_resubscribe_when_continuity_cannot_be_proven(string epoch, long first, string reason)
    {
        var subscriber = Started(top: 6);
        subscriber.Suspend(ReconnectingReasons.RedisUnavailable);

        subscriber.Resume(new HistorySnapshot(epoch, first + 1, Deltas(first, first + 1, epoch)));

        Assert.Equal(reason, subscriber.DropReason);
        Assert.Equal(["subscribed", "reconnecting", "resubscribe"], Drain(subscriber).Select(f => f.Type));
    }

    [Fact]
    public void A_subscription_opened_during_the_outage_starts_with_reconnecting_and_recovers_from_the_clients_position()
    {
        var subscriber = new SubscriptionFeed(ChannelName.Parse("conv:test"), new StreamerOptions(), Telemetry, sinceOffset: 2, sinceEpoch: "e1");
        subscriber.Suspend(ReconnectingReasons.RedisUnavailable);
        Assert.Equal((2L, 10_000), subscriber.HistoryRequest);

        var plan = subscriber.Resume(new HistorySnapshot("e1", 4, Deltas(3, 4)));

        Assert.True(plan!.Recovered);
        var frames = Drain(subscriber);
        Assert.Equal(["reconnecting", "subscribed", "delta", "delta"], frames.Select(f => f.Type));
        Assert.Equal("e1", frames[0].Epoch); // the client's own epoch before the first subscribed
        Assert.Equal(2, frames[1].Offset);
    }

    private static SubscriptionFeed Started(long top)
    {
        var subscriber = new SubscriptionFeed(ChannelName.Parse("conv:test"), new StreamerOptions(), Telemetry);
        subscriber.Start("conv:test", Recovery.Plan(top, "e1", new HistorySnapshot("e1", top, [])));
        return subscriber;
    }

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
