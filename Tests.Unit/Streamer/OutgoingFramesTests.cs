using AiStreaming.Channels;
using AiStreaming.Streamer.Delivery;
using Microsoft.Extensions.Time.Testing;
using static AiStreaming.Tests.Channels.EventFactory;

namespace AiStreaming.Tests.Streamer;

public class OutgoingFramesTests
{
    [Fact]
    public void Coalesces_consecutive_deltas_of_one_message_when_full_without_losing_text()
    {
        var buffer = new OutgoingFrames(capacity: 2, maxCoalescedChars: 1000);

        Assert.Equal(BufferWrite.Written, buffer.Write(Delta(1, "a")));
        Assert.Equal(BufferWrite.Written, buffer.Write(Delta(2, "b")));
        Assert.Equal(BufferWrite.Coalesced, buffer.Write(Delta(3, "c")));
        Assert.Equal(BufferWrite.Coalesced, buffer.Write(Delta(4, "d")));

        var frames = Drain(buffer);
        Assert.Equal(["a", "bcd"], frames.Select(f => f.DeltaText));
        Assert.Equal(4, frames[1].Offset);
        Assert.Equal(2, frames[1].FromOffset);
        Assert.Null(frames[1].RawJson);
    }

    [Fact]
    public void Overflows_when_the_event_cannot_be_coalesced()
    {
        var buffer = new OutgoingFrames(capacity: 1, maxCoalescedChars: 1000);
        buffer.Write(Delta(1, "a"));

        Assert.Equal(BufferWrite.Overflow, buffer.Write(Of(ChannelEventTypes.MessageCompleted, 2)));
        Assert.Equal(BufferWrite.Overflow, buffer.Write(Delta(2, "x", messageId: Guid.NewGuid())));
    }

    [Fact]
    public void Overflows_when_a_coalesced_delta_would_exceed_its_bound()
    {
        var buffer = new OutgoingFrames(capacity: 1, maxCoalescedChars: 5);
        buffer.Write(Delta(1, "abc"));

        Assert.Equal(BufferWrite.Overflow, buffer.Write(Delta(2, "def")));
    }

    [Fact]
    public void Forced_writes_ignore_capacity_and_completion_ends_reading_after_draining()
    {
        var buffer = new OutgoingFrames(capacity: 1, maxCoalescedChars: 10);
        buffer.Write(Delta(1, "a"));
        Assert.Equal(BufferWrite.Written, buffer.Write(Delta(2, "b"), force: true));
        Assert.True(buffer.Complete(Of(ChannelEventTypes.Resubscribe, 0)));

        Assert.Equal(BufferWrite.Closed, buffer.Write(Delta(3, "c")));
        Assert.False(buffer.Complete());
        Assert.Equal([1L, 2, 0], Drain(buffer).Select(f => f.Offset));
    }

    [Fact]
    public async Task A_waiting_reader_wakes_on_write()
    {
        var buffer = new OutgoingFrames(capacity: 4, maxCoalescedChars: 10);
        var waiting = buffer.WaitToReadAsync().AsTask();
        Assert.False(waiting.IsCompleted);

        buffer.Write(Delta(1, "a"));

        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void A_coalesced_delta_is_kept_whole_when_a_later_event_is_queued_behind_it()
    {
        var buffer = new OutgoingFrames(capacity: 2, maxCoalescedChars: 1000);
        buffer.Write(Delta(1, "a"));
        buffer.Write(Delta(2, "b"));
        buffer.Write(Delta(3, "c"));                 // coalesced into 2
        Assert.True(buffer.TryRead(out _));          // room again
        buffer.Write(Of(ChannelEventTypes.MessageCompleted, 4));

        var frames = Drain(buffer);
        Assert.Equal("bc", frames[0].DeltaText);
        Assert.Equal((2L, 3L), (frames[0].FromOffset!.Value, frames[0].Offset));
        Assert.Equal(4, frames[1].Offset);
    }

    [Fact]
    public void Coalescing_a_stuck_reader_appends_without_rebuilding_the_text()
    {
        var buffer = new OutgoingFrames(capacity: 1, maxCoalescedChars: 1_000_000);
        buffer.Write(Delta(1, "x"));
        for (var offset = 2; offset <= 20_000; offset++)
        {
            Assert.Equal(BufferWrite.Coalesced, buffer.Write(Delta(offset, "y")));
        }

        var merged = Assert.Single(Drain(buffer));
        Assert.Equal(20_000, merged.DeltaText!.Length);
        Assert.Equal(1, merged.FromOffset);
    }

    [Fact]
    public void Writes_report_stale_once_the_oldest_event_waited_past_the_bound()
    {
        var time = new FakeTimeProvider();
        var buffer = new OutgoingFrames(capacity: 8, maxCoalescedChars: 100, staleAfter: TimeSpan.FromSeconds(5), time);
        buffer.Write(Delta(1, "a"));
        time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(BufferWrite.Written, buffer.Write(Delta(2, "b")));
        time.Advance(TimeSpan.FromSeconds(2));

        Assert.Equal(BufferWrite.Stale, buffer.Write(Delta(3, "c")));
    }

    [Fact]
    public async Task A_heartbeat_request_wakes_an_idle_reader_once()
    {
        var buffer = new OutgoingFrames(capacity: 4, maxCoalescedChars: 10);
        var waiting = buffer.WaitToReadAsync().AsTask();

        buffer.RequestHeartbeat();

        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.False(buffer.TryRead(out _));
        Assert.True(buffer.TakeHeartbeat());
        Assert.False(buffer.TakeHeartbeat());
    }

    [Fact]
    public void A_reader_that_fell_behind_takes_queued_deltas_as_one_merged_frame()
    {
        var buffer = new OutgoingFrames(capacity: 16, maxCoalescedChars: 1000);
        buffer.Write(Delta(1, "a"));
        buffer.Write(Delta(2, "b"));
        buffer.Write(Delta(3, "c"));
        buffer.Write(Of(ChannelEventTypes.MessageCompleted, 4));
        buffer.Write(Delta(5, "d"));

        Assert.True(buffer.TryRead(merge: true, out var first));
        Assert.Equal(("abc", 1L, 3L), (first.DeltaText, first.FromOffset!.Value, first.Offset));
        Assert.True(buffer.TryRead(merge: true, out var completed));
        Assert.Equal(4, completed.Offset);
        Assert.True(buffer.TryRead(merge: true, out var last));
        Assert.Equal(("d", (long?)null), (last.DeltaText, last.FromOffset));
    }

    private static List<ChannelEvent> Drain(OutgoingFrames buffer)
    {
        var frames = new List<ChannelEvent>();
        while (buffer.TryRead(out var e))
        {
            frames.Add(e);
        }
        return frames;
    }
}
