using AiStreaming.Channels;
using static AiStreaming.Tests.Channels.EventFactory;

namespace AiStreaming.Tests.Channels;

public class RecoveryTests
{
    [Fact]
    public void Recovers_exactly_the_missed_offsets_when_history_holds_them()
    {
        var plan = Recovery.Plan(3, "e1", new HistorySnapshot("e1", 6, Deltas(4, 6)));

        Assert.True(plan.Recovered);
        Assert.Equal(3, plan.Offset);
        Assert.Equal([4L, 5, 6], plan.Replay.Select(e => e.Offset));
    }

    [Fact]
    public void Recovers_with_nothing_to_replay_when_the_client_is_at_the_top()
    {
        var plan = Recovery.Plan(6, "e1", new HistorySnapshot("e1", 6, []));

        Assert.True(plan.Recovered);
        Assert.Empty(plan.Replay);
        Assert.Equal(6, plan.Offset);
    }

    [Fact]
    public void Reports_a_gap_when_history_was_trimmed_past_the_clients_offset()
    {
        // Client has 3, history starts at 10 (MAXLEN trimmed 4..9).
        var plan = Recovery.Plan(3, "e1", new HistorySnapshot("e1", 12, Deltas(10, 12)));

        Assert.False(plan.Recovered);
        Assert.Empty(plan.Replay);
        Assert.Equal(12, plan.Offset);
        Assert.Equal("e1", plan.Epoch);
    }

    [Fact]
    public void Reports_a_gap_when_history_expired()
    {
        var plan = Recovery.Plan(3, "e1", new HistorySnapshot("e1", 12, []));

        Assert.False(plan.Recovered);
        Assert.Equal(12, plan.Offset);
    }

    [Fact]
    public void Reports_a_gap_when_history_has_a_hole()
    {
        var events = Deltas(4, 6);
        events.RemoveAt(1);

        Assert.False(Recovery.Plan(3, "e1", new HistorySnapshot("e1", 6, events)).Recovered);
    }

    [Fact]
    public void Does_not_recover_across_epochs()
    {
        var plan = Recovery.Plan(3, "old", new HistorySnapshot("new", 2, Deltas(1, 2, "new")));

        Assert.False(plan.Recovered);
        Assert.Equal("new", plan.Epoch);
        Assert.Equal(2, plan.Offset);
    }

    [Fact]
    public void Does_not_trust_a_position_ahead_of_the_channel()
    {
        Assert.False(Recovery.Plan(50, "e1", new HistorySnapshot("e1", 6, [])).Recovered);
    }

    [Fact]
    public void Fresh_subscriptions_start_at_the_top_without_replay()
    {
        var plan = Recovery.Plan(null, null, new HistorySnapshot("e1", 6, []));

        Assert.False(plan.Recovered);
        Assert.Equal(6, plan.Offset);
    }

    [Fact]
    public void Does_not_recover_when_the_replay_stops_short_of_the_top()
    {
        // The reader capped the replay at 2 entries but the channel's top is 6.
        Assert.False(Recovery.Plan(3, "e1", new HistorySnapshot("e1", 6, Deltas(4, 5))).Recovered);
    }
}
