using System.Text;
using AiStreaming.Channels;

namespace AiStreaming.Streamer.Delivery;

/// <summary>Result of offering an event to a <see cref="OutgoingFrames"/>.</summary>
internal enum BufferWrite
{
    /// <summary>Queued.</summary>
    Written,

    /// <summary>The buffer was full; the delta was merged into the queued delta before it (no text lost, one frame less).</summary>
    Coalesced,

    /// <summary>The buffer was full and the event could not be coalesced: the subscriber cannot keep up.</summary>
    Overflow,

    /// <summary>The oldest queued event has waited longer than the buffer's staleness bound: the reader is stuck.</summary>
    Stale,

    /// <summary>The buffer is completed; the event was discarded.</summary>
    Closed,
}

/// <summary>
/// Consecutive deltas of one message merged into one (<c>fromOffset..offset</c>): appending is O(1) (a
/// <see cref="StringBuilder"/>), and the merged event is built, i.e. serialized, once, when the reader takes it. The
/// coalescing rule of <see cref="OutgoingFrames"/>; not thread-safe (the buffer's lock guards it).
/// </summary>
internal sealed class CoalescedDelta(ChannelEvent first, string firstText)
{
    private readonly ChannelEvent _first = first;
    private readonly StringBuilder _text = new(firstText);
    private readonly long _from = first.FromOffset ?? first.Offset;
    private ChannelEvent _last = first;

    /// <summary>Appends <paramref name="incoming"/> if it is the next delta of the same message and the text stays within <paramref name="maxChars"/>.</summary>
    public bool TryAppend(ChannelEvent incoming, int maxChars)
    {
        if (incoming.Type != ChannelEventTypes.Delta || incoming.MessageId != _last.MessageId || incoming.Epoch != _last.Epoch
            || (incoming.FromOffset ?? incoming.Offset) != _last.Offset + 1
            || incoming.DeltaText is not { } text || _text.Length + text.Length > maxChars)
        {
            return false;
        }
        _text.Append(text);
        _last = incoming;
        return true;
    }

    /// <summary>The merged event; the first event itself when nothing was appended.</summary>
    public ChannelEvent Build() =>
        ReferenceEquals(_last, _first) ? _first : _last with { FromOffset = _from, Data = ChannelEvent.DeltaData(_text.ToString()) };
}
