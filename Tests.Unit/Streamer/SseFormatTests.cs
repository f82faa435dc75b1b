using System.Text;
using AiStreaming.Channels;
using AiStreaming.Streamer.Sse;
using static AiStreaming.Tests.Channels.EventFactory;

namespace AiStreaming.Tests.Streamer;

public class SseFormatTests
{
    [Theory]
    [InlineData("abc123:42", "abc123", 42)]
    [InlineData("abc:0", "abc", 0)]
    public void Parses_event_ids(string id, string epoch, long offset)
    {
        Assert.True(SseEndpoints.TryParsePosition(id, out var e, out var o));
        Assert.Equal(epoch, e);
        Assert.Equal(offset, o);
    }

    [Theory]
    [InlineData("")]
    [InlineData("42")]
    [InlineData(":42")]
    [InlineData("abc:")]
    [InlineData("abc:-1")]
    [InlineData("abc:x")]
    public void Rejects_malformed_event_ids(string id) => Assert.False(SseEndpoints.TryParsePosition(id, out _, out _));

    [Fact]
    public async Task Frames_carry_the_position_as_id_and_one_data_line_and_the_first_the_retry()
    {
        var stream = new MemoryStream();
        IEnumerable<System.Net.ServerSentEvents.SseItem<ChannelEvent>> items =
            [SseFrames.Item(Delta(5, "line1\nline2"), first: true), SseFrames.Item(Of(ChannelEventTypes.PresenceJoin, 0)), SseFrames.Item(SseFrames.Heartbeat("conv:test"))];
        await System.Net.ServerSentEvents.SseFormatter.WriteAsync(items.ToAsyncEnumerable(), stream, SseFrames.Format);

        var text = Encoding.UTF8.GetString(stream.ToArray());
        var frames = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, frames.Length);
        Assert.StartsWith("event: delta\ndata: {", frames[0]);
        Assert.EndsWith("\nid: e1:5\nretry: 250", frames[0]);
        Assert.Equal(4, frames[0].Split('\n').Length); // the JSON's escaped newline stays on one data line
        Assert.StartsWith("event: presence.join\ndata: ", frames[1]);
        Assert.DoesNotContain("id:", frames[1]);
        Assert.Equal("event: heartbeat\ndata: {\"channel\":\"conv:test\",\"type\":\"heartbeat\"}", frames[2]);
    }

    [Theory]
    [InlineData("abc:1.5")]
    [InlineData("abc:9223372036854775808")]
    [InlineData("abc: 3")]
    [InlineData("abc:+3")]
    [InlineData("abc:0x10")]
    public void Rejects_offsets_that_are_not_non_negative_64_bit_integers(string id) => Assert.False(SseEndpoints.TryParsePosition(id, out _, out _));

    [Fact]
    public void Accepts_the_largest_offset_as_a_position()
    {
        Assert.True(SseEndpoints.TryParsePosition("abc:9223372036854775807", out _, out var offset));
        Assert.Equal(long.MaxValue, offset);
    }
}
