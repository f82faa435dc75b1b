using System.Text;

namespace AiStreaming.Api.Generation;

/// <summary>
/// A generation's text and the suffix of it not yet published as a <c>delta</c>, with the flush rule: flush when
/// <c>flushEveryTokens</c> chunks are pending or the oldest pending chunk is <c>flushInterval</c> old, whichever
/// comes first. Pending text is dropped only by <see cref="MarkPublished"/>, after a successful publish, so the
/// published deltas concatenated always equal a prefix of <see cref="Text"/>. Not thread-safe.
/// </summary>
/// <param name="flushEveryTokens">Chunks per delta (≥ 1).</param>
/// <param name="flushInterval">Longest time pending text waits.</param>
/// <param name="time">Clock (timestamps are <see cref="TimeProvider.GetTimestamp"/> values).</param>
internal sealed class DeltaBuffer(int flushEveryTokens, TimeSpan flushInterval, TimeProvider time)
{
    private readonly StringBuilder text = new();
    private int pendingStart;
    private int pendingTokens;
    private long pendingSince;

    /// <summary>Non-empty chunks appended so far.</summary>
    public int Tokens { get; private set; }

    /// <summary>All text so far.</summary>
    public string Text => text.ToString();

    /// <summary>Whether text awaits publishing.</summary>
    public bool HasPending => text.Length > pendingStart;

    /// <summary>The text not yet published.</summary>
    public string PendingText => text.ToString(pendingStart, text.Length - pendingStart);

    /// <summary>
    /// Starts from text another run already published (a takeover continues the reply): it becomes <see cref="Text"/>
    /// with nothing pending. Call before the first <see cref="Append"/>.
    /// </summary>
    /// <param name="published">The text streamed so far.</param>
    public void Restore(string published)
    {
        text.Clear().Append(published);
        pendingStart = text.Length;
        pendingTokens = 0;
    }

    /// <summary>Appends a non-empty chunk.</summary>
    /// <param name="chunk">Chunk text.</param>
    /// <param name="timestamp">When it arrived.</param>
    public void Append(string chunk, long timestamp)
    {
        if (!HasPending)
        {
            pendingSince = timestamp;
        }
        text.Append(chunk);
        pendingTokens++;
        Tokens++;
    }

    /// <summary>How long until pending text is due (zero when due now, infinite when nothing is pending).</summary>
    /// <param name="now">Current timestamp.</param>
    public TimeSpan TimeUntilDue(long now)
    {
        if (!HasPending)
        {
            return Timeout.InfiniteTimeSpan;
        }
        if (pendingTokens >= flushEveryTokens)
        {
            return TimeSpan.Zero;
        }
        var left = flushInterval - time.GetElapsedTime(pendingSince, now);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    /// <summary>Records that the first <paramref name="length"/> pending characters were published.</summary>
    /// <param name="length">Length of the published <see cref="PendingText"/>.</param>
    /// <param name="now">Current timestamp (starts the wait of text appended meanwhile).</param>
    public void MarkPublished(int length, long now)
    {
        pendingStart += length;
        pendingTokens = 0;
        pendingSince = now;
    }
}
