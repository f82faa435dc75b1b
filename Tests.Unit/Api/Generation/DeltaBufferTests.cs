using AiStreaming.Api.Generation;
using Microsoft.Extensions.Time.Testing;

namespace AiStreaming.Tests.Api.Generation;

/// <summary>
/// The rollup rule of <see cref="DeltaBuffer"/>: the first chunk at once, then pending text one window after its first
/// chunk, at the size cap, or at once after a quiet window.
/// </summary>
public class DeltaBufferTests
{
    private static readonly TimeProvider Time = new FakeTimeProvider();

    // A timestamp `ms` milliseconds after an arbitrary origin.
    private static long At(double ms) => 1_000_000 + (long)(ms * Time.TimestampFrequency / 1000);

    private static DeltaBuffer Buffer(int maxTokens, int windowMs = 100) =>
        new(maxTokens, TimeSpan.FromMilliseconds(windowMs), Time);

    private static void AssertDueIn(DeltaBuffer buffer, double now, double expectedMs) =>
        Assert.Equal(expectedMs, buffer.TimeUntilDue(At(now)).TotalMilliseconds, precision: 3);

    // Publishes everything pending at `ms`.
    private static string Publish(DeltaBuffer buffer, double ms)
    {
        var text = buffer.PendingText;
        buffer.MarkPublished(text.Length, At(ms));
        return text;
    }

    [Fact]
    public void Nothing_is_due_while_nothing_is_pending()
    {
        var buffer = Buffer(3);

        Assert.False(buffer.HasPending);
        Assert.Equal(Timeout.InfiniteTimeSpan, buffer.TimeUntilDue(At(0)));
        Assert.Equal(long.MaxValue, buffer.DueAt);
        Assert.Equal("", buffer.Text);
        Assert.Equal(0, buffer.Tokens);
    }

    [Fact]
    public void The_first_chunk_of_a_reply_is_due_at_once()
    {
        var buffer = Buffer(16, windowMs: 30);

        buffer.Append("Hello", At(0));

        Assert.Equal(TimeSpan.Zero, buffer.TimeUntilDue(At(0)));
    }

    [Fact]
    public void Later_chunks_are_due_one_window_after_the_first_pending_one()
    {
        var buffer = Buffer(16, windowMs: 30);
        buffer.Append("Hello", At(0));
        Publish(buffer, 0);

        buffer.Append(",", At(10));
        AssertDueIn(buffer, 10, 30);
        buffer.Append(" world", At(20)); // a later chunk does not restart the window
        AssertDueIn(buffer, 20, 20);
        AssertDueIn(buffer, 39, 1);

        Assert.Equal(TimeSpan.Zero, buffer.TimeUntilDue(At(40)));
        Assert.Equal(", world", buffer.PendingText);
        Assert.Equal(2, buffer.PendingTokens);
    }

    [Fact]
    public void Pending_text_is_due_at_once_when_it_reaches_the_size_cap()
    {
        var buffer = Buffer(3, windowMs: 1000);
        buffer.Append("a", At(0));
        Publish(buffer, 0);

        buffer.Append("b", At(1));
        buffer.Append("c", At(2));
        Assert.NotEqual(TimeSpan.Zero, buffer.TimeUntilDue(At(2)));
        buffer.Append("d", At(3));

        Assert.Equal(TimeSpan.Zero, buffer.TimeUntilDue(At(3)));
        Assert.Equal("bcd", buffer.PendingText);
    }

    [Fact]
    public void A_chunk_after_a_quiet_window_is_due_at_once()
    {
        var buffer = Buffer(16, windowMs: 30);
        buffer.Append("a", At(0));
        Publish(buffer, 0);

        buffer.Append("b", At(45)); // the model paused longer than a window: no rollup delay

        Assert.Equal(TimeSpan.Zero, buffer.TimeUntilDue(At(45)));
    }

    [Fact]
    public void A_zero_window_or_a_cap_of_one_publishes_every_chunk_at_once()
    {
        foreach (var buffer in new[] { Buffer(16, windowMs: 0), Buffer(1, windowMs: 100) })
        {
            buffer.Append("a", At(0));
            Publish(buffer, 0);
            buffer.Append("b", At(1));

            Assert.Equal(TimeSpan.Zero, buffer.TimeUntilDue(At(1)));
        }
    }

    [Fact]
    public void Publishing_everything_empties_the_pending_text_but_keeps_the_whole_text()
    {
        var buffer = Buffer(2);
        buffer.Append("one", At(0));
        buffer.Append(" two", At(1));

        Publish(buffer, 2);

        Assert.False(buffer.HasPending);
        Assert.Equal("", buffer.PendingText);
        Assert.Equal("one two", buffer.Text);
        Assert.Equal(2, buffer.Tokens);
        Assert.Equal(Timeout.InfiniteTimeSpan, buffer.TimeUntilDue(At(3)));
    }

    [Fact]
    public void Published_and_pending_text_always_make_up_the_whole_text()
    {
        // 10 ms apart with a 25 ms window, published only when a chunk finds its text due: the first chunk alone,
        // then what gathered over a window.
        var buffer = Buffer(16, windowMs: 25);
        var published = new List<string>();
        string[] chunks = ["The", " quick", " brown", " fox", " jumps", ".", "\n", "Done"];
        for (var i = 0; i < chunks.Length; i++)
        {
            buffer.Append(chunks[i], At(i * 10));
            if (buffer.TimeUntilDue(At(i * 10)) == TimeSpan.Zero)
            {
                published.Add(Publish(buffer, i * 10));
            }
            Assert.Equal(buffer.Text, string.Concat(published) + buffer.PendingText);
        }

        Assert.Equal("The quick brown fox jumps.\nDone", buffer.Text);
        Assert.Equal(["The", " quick brown fox jumps"], published);
        Assert.Equal(".\nDone", buffer.PendingText);
        Assert.Equal(chunks.Length, buffer.Tokens);
    }

    [Fact]
    public void A_partial_publish_keeps_the_unpublished_suffix_pending_for_one_more_window()
    {
        var buffer = Buffer(5, windowMs: 100);
        buffer.Append("abc", At(0));
        buffer.Append("def", At(1));

        buffer.MarkPublished(3, At(2));

        Assert.True(buffer.HasPending);
        Assert.Equal("def", buffer.PendingText);
        Assert.Equal("abcdef", buffer.Text);
        AssertDueIn(buffer, 2, 100);
    }
}
