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
    public void Frames_carry_the_position_as_id_and_one_data_line()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        SseFrameWriter.Write(buffer, Delta(5, "line1\nline2"));
        SseFrameWriter.Write(buffer, Of(ChannelEventTypes.PresenceJoin, 0));

        var text = Encoding.UTF8.GetString(buffer.WrittenSpan);
        var frames = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, frames.Length);
        Assert.StartsWith("id: e1:5\nevent: delta\ndata: {", frames[0]);
        Assert.Equal(3, frames[0].Split('\n').Length);
        Assert.StartsWith("event: presence.join\ndata: ", frames[1]);
    }
}
