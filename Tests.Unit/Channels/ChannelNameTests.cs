using AiStreaming.Channels;

namespace AiStreaming.Tests.Channels;

public class ChannelNameTests
{
    [Theory]
    [InlineData("conv:0d8e5f0e-1111-4222-8333-444455556666")]
    [InlineData("conv:a")]
    [InlineData("room_1:ABC-def_9")]
    public void Accepts_valid_names(string value) => Assert.True(ChannelName.TryParse(value, out _));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("conv")]
    [InlineData("conv:")]
    [InlineData(":id")]
    [InlineData("Conv:id")]
    [InlineData("conv:id with space")]
    [InlineData("conv:{id}")]
    [InlineData("conv:a:b")]
    public void Rejects_invalid_names(string? value) => Assert.False(ChannelName.TryParse(value, out _));

    [Fact]
    public void Keys_share_one_cluster_hash_tag()
    {
        var channel = ChannelName.ForConversation(Guid.Parse("0d8e5f0e-1111-4222-8333-444455556666"));

        Assert.Equal("conv:0d8e5f0e-1111-4222-8333-444455556666", channel.Value);
        Assert.Equal("ais:{conv:0d8e5f0e-1111-4222-8333-444455556666}:stream", channel.StreamKey.ToString());
        Assert.Equal("ais:{conv:0d8e5f0e-1111-4222-8333-444455556666}:meta", channel.MetaKey.ToString());
        Assert.Equal("ais:{conv:0d8e5f0e-1111-4222-8333-444455556666}", channel.PubSubChannel.ToString());
        Assert.False(channel.PubSubChannel.IsSharded);
        Assert.True(channel.PubSubChannelFor(sharded: true).IsSharded);
        Assert.Equal(channel.PubSubChannel.ToString(), channel.PubSubChannelFor(sharded: true).ToString());
    }

    [Fact]
    public void Events_round_trip_through_json_with_camel_case_names()
    {
        var e = EventFactory.Delta(7, "hé \"quoted\"\nline");

        var json = e.ToJson();
        var back = ChannelEvent.Parse(json);

        Assert.Contains("\"offset\":7", json);
        Assert.Contains("\"type\":\"delta\"", json);
        Assert.DoesNotContain("fromOffset", json);
        Assert.Equal("hé \"quoted\"\nline", back.DeltaText);
        Assert.Equal(e.MessageId, back.MessageId);
        Assert.Equal(json, back.RawJson);
    }

    [Fact]
    public void Events_parsed_from_bytes_keep_their_bytes_until_modified()
    {
        var json = EventFactory.Delta(3, "abc").ToJson();
        var parsed = ChannelEvent.Parse(System.Text.Encoding.UTF8.GetBytes(json), knownChannel: "conv:test");

        Assert.Equal(json, parsed.RawJson);
        Assert.Equal("abc", parsed.DeltaText);
        Assert.Equal("abc", parsed.Data!.Value.GetProperty("text").GetString());
        var moved = parsed with { FromOffset = 1 };
        Assert.Null(moved.RawJson);
        Assert.Contains("\"fromOffset\":1", moved.ToJson());
        Assert.Contains("\"text\":\"abc\"", moved.ToJson());
    }
}
