using AiStreaming.Api.Generation;
using Microsoft.Extensions.Time.Testing;

namespace AiStreaming.Tests.Api.Generation;

/// <summary>The flush rule of <see cref="DeltaBuffer"/>: every N chunks or T after the oldest pending chunk.</summary>
public class DeltaBufferTests
{
    private static readonly TimeProvider Time = new FakeTimeProvider();

    // A timestamp `ms` milliseconds after an arbitrary origin.
    private static long At(double ms) => 1_000_000 + (long)(ms * Time.TimestampFrequency / 1000);

    private static DeltaBuffer Buffer(int flushEveryTokens, int flushIntervalMs = 100) =>
        new(flushEveryTokens, TimeSpan.FromMilliseconds(flushIntervalMs), Time);

    private static void AssertDueIn(DeltaBuffer buffer, double now, double expectedMs) =>
        Assert.Equal(expectedMs, buffer.TimeUntilDue(At(now)).TotalMilliseconds, precision: 3);

    [Fact]
    public void Nothing_is_due_while_nothing_is_pending()
    {
        var buffer = Buffer(3);

        Assert.False(buffer.HasPending);
        Assert.Equal(Timeout.InfiniteTimeSpan, buffer.TimeUntilDue(At(0)));
        Assert.Equal("", buffer.Text);
        Assert.Equal(0, buffer.Tokens);
    }

    [Fact]
    public void Pending_text_is_due_once_FlushEveryTokens_chunks_are_pending()
    {
        var buffer = Buffer(3);

        buffer.Append("Hello", At(0));
        buffer.Append(",", At(1));
        Assert.NotEqual(TimeSpan.Zero, buffer.TimeUntilDue(At(1)));
        buffer.Append(" world", At(2));

        Assert.Equal(TimeSpan.Zero, buffer.TimeUntilDue(At(2)));
        Assert.Equal("Hello, world", buffer.PendingText);
    }

    [Fact]
    public void With_FlushEveryTokens_one_every_chunk_is_due_at_once()
    {
        var buffer = Buffer(1);

        buffer.Append("a", At(0));

        Assert.Equal(TimeSpan.Zero, buffer.TimeUntilDue(At(0)));
    }

    [Fact]
    public void Fewer_chunks_are_due_FlushInterval_after_the_oldest_pending_chunk()
    {
        var buffer = Buffer(10, flushIntervalMs: 100);

        buffer.Append("a", At(0));
        AssertDueIn(buffer, 0, 100);
        buffer.Append("b", At(80)); // a later chunk does not restart the wait
        AssertDueIn(buffer, 80, 20);
        AssertDueIn(buffer, 99, 1);

        Assert.Equal(TimeSpan.Zero, buffer.TimeUntilDue(At(100)));
        Assert.Equal(TimeSpan.Zero, buffer.TimeUntilDue(At(250)));
    }

    [Fact]
    public void Publishing_everything_empties_the_pending_text_but_keeps_the_whole_text()
    {
        var buffer = Buffer(2);
        buffer.Append("one", At(0));
        buffer.Append(" two", At(1));

        buffer.MarkPublished(buffer.PendingText.Length, At(2));

        Assert.False(buffer.HasPending);
        Assert.Equal("", buffer.PendingText);
        Assert.Equal("one two", buffer.Text);
        Assert.Equal(2, buffer.Tokens);
        Assert.Equal(Timeout.InfiniteTimeSpan, buffer.TimeUntilDue(At(3)));
    }

    [Fact]
    public void After_a_publish_the_next_chunk_starts_its_own_wait_and_count()
    {
        var buffer = Buffer(2, flushIntervalMs: 100);
        buffer.Append("a", At(0));
        buffer.Append("b", At(1));
        buffer.MarkPublished(2, At(2));

        buffer.Append("c", At(500));

        Assert.Equal("c", buffer.PendingText);
        AssertDueIn(buffer, 500, 100);
        buffer.Append("d", At(510));
        Assert.Equal(TimeSpan.Zero, buffer.TimeUntilDue(At(510)));
        Assert.Equal(4, buffer.Tokens);
    }

    [Fact]
    public void Published_and_pending_text_always_make_up_the_whole_text()
    {
        var buffer = Buffer(3);
        var published = "";
        string[] chunks = ["The", " quick", " brown", " fox", " jumps", ".", "\n", "Done"];
        for (var i = 0; i < chunks.Length; i++)
        {
            buffer.Append(chunks[i], At(i));
            if (buffer.TimeUntilDue(At(i)) == TimeSpan.Zero)
            {
                published += buffer.PendingText;
                buffer.MarkPublished(buffer.PendingText.Length, At(i));
            }
            Assert.Equal(buffer.Text, published + buffer.PendingText);
        }

        Assert.Equal("The quick brown fox jumps.\nDone", buffer.Text);
        Assert.Equal("The quick brown fox jumps.", published); // flushed after the 3rd and 6th chunks
        Assert.Equal("\nDone", buffer.PendingText);
        Assert.Equal(chunks.Length, buffer.Tokens);
    }

    [Fact]
    public void A_partial_publish_keeps_the_unpublished_suffix_pending()
    {
        var buffer = Buffer(5);
        buffer.Append("abc", At(0));
        buffer.Append("def", At(1));

        buffer.MarkPublished(3, At(2));

        Assert.True(buffer.HasPending);
        Assert.Equal("def", buffer.PendingText);
        Assert.Equal("abcdef", buffer.Text);
    }
}
