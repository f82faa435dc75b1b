namespace AiStreaming.Channels;

/// <summary>What a subscriber should do with an incoming event.</summary>
public enum SequenceDecision
{
    /// <summary>Next offset in order: deliver it.</summary>
    Deliver,

    /// <summary>Ephemeral event (offset 0, e.g. presence): deliver without moving the position.</summary>
    DeliverEphemeral,

    /// <summary>Offset already delivered (replay/live overlap, or a redelivery): drop it.</summary>
    Duplicate,

    /// <summary>Offsets are missing before this one (e.g. pub/sub lost during a Redis reconnect): the subscriber must recover.</summary>
    Gap,

    /// <summary>The channel's epoch changed (Redis lost the channel's meta): the subscriber must recover.</summary>
    EpochChanged,
}

/// <summary>
/// Tracks a subscriber's position and classifies events so that every offset is delivered exactly once, in order.
/// Not thread-safe: one instance per subscriber, used under the subscriber's lock.
/// </summary>
/// <param name="epoch">Starting epoch (<see langword="null"/> if the channel had no events yet: the first event sets it).</param>
/// <param name="offset">Starting offset: the last offset the subscriber has.</param>
public sealed class OffsetSequencer(string? epoch, long offset)
{
    /// <summary>Current epoch.</summary>
    public string? Epoch { get; private set; } = epoch;

    /// <summary>Last offset delivered.</summary>
    public long Offset { get; private set; } = offset;

    /// <summary>Classifies <paramref name="e"/> and, when it is delivered, advances the position.</summary>
    /// <param name="e">Incoming event.</param>
    /// <returns>The decision.</returns>
    public SequenceDecision Accept(ChannelEvent e)
    {
        if (e.Offset == 0)
        {
            return SequenceDecision.DeliverEphemeral;
        }
        if (Epoch is null && Offset == 0)
        {
            Epoch = e.Epoch; // the channel got its first event after we read its (empty) position
        }
        if (e.Epoch != Epoch)
        {
            return SequenceDecision.EpochChanged;
        }
        if (e.Offset <= Offset)
        {
            return SequenceDecision.Duplicate;
        }
        if (e.Offset != Offset + 1)
        {
            return SequenceDecision.Gap;
        }
        Offset = e.Offset;
        return SequenceDecision.Deliver;
    }
}
