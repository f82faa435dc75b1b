using System.Text;

namespace AiStreaming.Api.Generation;

/// <summary>
/// A generation's text, the suffix of it not yet published as a <c>delta</c>, and the rollup rule that says when that
/// suffix is due (<see cref="GenerationOptions.RollupWindow"/>):
/// <list type="bullet">
/// <item>the reply's first chunk is due at once (the reader sees the reply start without delay);</item>
/// <item>a chunk that arrives when nothing is pending and the last publish is at least a window old is due at once
/// (a slow or bursty model pays no rollup latency);</item>
/// <item>otherwise pending text is due one window after its first chunk arrived, or as soon as
/// <c>maxTokens</c> chunks are pending (the size cap), whichever comes first.</item>
/// </list>
/// The end of the reply flushes whatever is pending (<see cref="DeltaStream.FlushFinalAsync"/>). Pending text is dropped
/// only by <see cref="MarkPublished"/>, after a successful publish, so the published deltas concatenated always equal a
/// prefix of <see cref="Text"/>. Not thread-safe.
/// </summary>
/// <param name="maxTokens">Size cap: chunks per delta at most (≥ 1; 1 publishes every chunk at once).</param>
/// <param name="window">Rollup window (zero: every chunk is due at once).</param>
/// <param name="time">Clock (timestamps are <see cref="TimeProvider.GetTimestamp"/> values).</param>
internal sealed class DeltaBuffer(int maxTokens, TimeSpan window, TimeProvider time)
{
    private readonly StringBuilder text = new();
    private readonly long windowTicks = (long)(window.TotalSeconds * time.TimestampFrequency);
    private int pendingStart;
    private int pendingTokens;
    private long pendingDue;
    private long lastPublishedAt;
    private bool published;

    /// <summary>Non-empty chunks appended so far.</summary>
    public int Tokens { get; private set; }

    /// <summary>All text so far.</summary>
    public string Text => text.ToString();

    /// <summary>Whether text awaits publishing.</summary>
    public bool HasPending => text.Length > pendingStart;

    /// <summary>The text not yet published.</summary>
    public string PendingText => text.ToString(pendingStart, text.Length - pendingStart);

    /// <summary>Chunks in <see cref="PendingText"/>.</summary>
    public int PendingTokens => pendingTokens;

    /// <summary>When the pending text is due (a <see cref="TimeProvider.GetTimestamp"/> value); <see cref="long.MaxValue"/> when nothing is pending.</summary>
    public long DueAt => !HasPending ? long.MaxValue : pendingTokens >= maxTokens ? long.MinValue : pendingDue;

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
            var quiet = Tokens == 0 || (published && timestamp - lastPublishedAt >= windowTicks);
            pendingDue = quiet ? timestamp : timestamp + windowTicks;
        }
        text.Append(chunk);
        pendingTokens++;
        Tokens++;
    }

    /// <summary>How long until pending text is due (zero when due now, infinite when nothing is pending).</summary>
    /// <param name="now">Current timestamp.</param>
    public TimeSpan TimeUntilDue(long now)
    {
        var due = DueAt;
        if (due == long.MaxValue)
        {
            return Timeout.InfiniteTimeSpan;
        }
        return due <= now ? TimeSpan.Zero : time.GetElapsedTime(now, due);
    }

    /// <summary>Records that the first <paramref name="length"/> pending characters were published.</summary>
    /// <param name="length">Length of the published <see cref="PendingText"/>.</param>
    /// <param name="now">Current timestamp (text still pending is due one window later).</param>
    public void MarkPublished(int length, long now)
    {
        pendingStart += length;
        pendingTokens = HasPending ? 1 : 0;
        lastPublishedAt = now;
        published = true;
        pendingDue = now + windowTicks;
    }
}
