using AiStreaming.Channels;
using static AiStreaming.Tests.Channels.EventFactory;

namespace AiStreaming.Tests.Channels;

public class OffsetSequencerTests
{
    [Fact]
    public void Delivers_consecutive_offsets_and_drops_repeats()
    {
        var sequencer = new OffsetSequencer("e1", 5);

        Assert.Equal(SequenceDecision.Duplicate, sequencer.Accept(Delta(4, "x")));
        Assert.Equal(SequenceDecision.Duplicate, sequencer.Accept(Delta(5, "x")));
        Assert.Equal(SequenceDecision.Deliver, sequencer.Accept(Delta(6, "x")));
        Assert.Equal(SequenceDecision.Duplicate, sequencer.Accept(Delta(6, "x")));
        Assert.Equal(SequenceDecision.Deliver, sequencer.Accept(Delta(7, "x")));
        Assert.Equal(7, sequencer.Offset);
    }

    [Fact]
    public void Flags_a_gap_without_moving()
    {
        var sequencer = new OffsetSequencer("e1", 5);

        Assert.Equal(SequenceDecision.Gap, sequencer.Accept(Delta(7, "x")));
        Assert.Equal(5, sequencer.Offset);
    }

    [Fact]
    public void Flags_an_epoch_change()
    {
        var sequencer = new OffsetSequencer("e1", 5);

        Assert.Equal(SequenceDecision.EpochChanged, sequencer.Accept(Delta(1, "x", epoch: "e2")));
    }

    [Fact]
    public void Adopts_the_epoch_of_a_channels_first_event()
    {
        var sequencer = new OffsetSequencer(null, 0);

        Assert.Equal(SequenceDecision.Deliver, sequencer.Accept(Delta(1, "x", epoch: "fresh")));
        Assert.Equal("fresh", sequencer.Epoch);
        Assert.Equal(SequenceDecision.EpochChanged, sequencer.Accept(Delta(2, "x", epoch: "other")));
    }

    [Fact]
    public void Passes_ephemeral_events_without_moving()
    {
        var sequencer = new OffsetSequencer("e1", 5);

        Assert.Equal(SequenceDecision.DeliverEphemeral, sequencer.Accept(Of(ChannelEventTypes.PresenceJoin, 0)));
        Assert.Equal(5, sequencer.Offset);
    }
}
