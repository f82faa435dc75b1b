using AiStreaming.Channels;

namespace AiStreaming.Api.Generation;

/// <summary>Rebuilds the text of a reply exactly as it was streamed, from its channel's history.</summary>
internal static class StreamedText
{
    /// <summary>
    /// The concatenated <c>delta</c> texts of <paramref name="messageId"/>, when <paramref name="snapshot"/> provably
    /// holds all of them: same epoch as the reply's <c>message.started</c>, its events from
    /// <paramref name="startOffset"/> to the top offset all present (none trimmed, no hole), the first one that
    /// <c>message.started</c>. Events of other types (<c>message.queued</c>, <c>message.resumed</c>) are skipped.
    /// </summary>
    /// <param name="snapshot">The channel read from <paramref name="startOffset"/> on.</param>
    /// <param name="messageId">The reply.</param>
    /// <param name="epoch">Epoch of its <c>message.started</c>.</param>
    /// <param name="startOffset">Offset of its <c>message.started</c>.</param>
    /// <returns>The text, or <see langword="null"/> when the history no longer covers the reply.</returns>
    public static string? Rebuild(HistorySnapshot snapshot, Guid messageId, string epoch, long startOffset)
    {
        if (snapshot.Epoch != epoch || snapshot.Events.Count == 0
            || snapshot.Events[0] is not { Type: ChannelEventTypes.MessageStarted } started || started.MessageId != messageId || started.Offset != startOffset)
        {
            return null;
        }
        var text = new System.Text.StringBuilder();
        var expected = startOffset;
        foreach (var e in snapshot.Events)
        {
            if (e.Offset != expected++)
            {
                return null;
            }
            if (e.Type == ChannelEventTypes.Delta && e.MessageId == messageId)
            {
                text.Append(e.DeltaText);
            }
        }
        return expected - 1 == snapshot.TopOffset ? text.ToString() : null;
    }
}
