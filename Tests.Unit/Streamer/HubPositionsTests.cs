using System.Text.Json;
using AiStreaming.Streamer.Hubs;

namespace AiStreaming.Tests.Streamer;

/// <summary>A hub offset that is not a non-negative 64-bit integer is <c>invalid_position</c>, whatever the protocol bound.</summary>
public class HubPositionsTests
{
    [Theory]
    [InlineData("null", null)]
    [InlineData("0", 0L)]
    [InlineData("42", 42L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public void Accepts_null_and_non_negative_64_bit_integers_from_json(string json, long? expected)
    {
        Assert.True(HubPositions.TryParse(JsonDocument.Parse(json).RootElement.Clone(), out var offset));
        Assert.Equal(expected, offset);
    }

    [Theory]
    [InlineData("1.5")]
    [InlineData("3.0")]
    [InlineData("3e2")]
    [InlineData("\"3\"")]
    [InlineData("-1")]
    [InlineData("9223372036854775808")]
    [InlineData("true")]
    [InlineData("{}")]
    [InlineData("[3]")]
    public void Rejects_anything_else_from_json(string json) =>
        Assert.False(HubPositions.TryParse(JsonDocument.Parse(json).RootElement.Clone(), out _));

    [Fact]
    public void Accepts_messagepack_integers_and_rejects_floats_strings_and_negatives()
    {
        Assert.True(HubPositions.TryParse((byte)3, out var small));
        Assert.Equal(3, small);
        Assert.True(HubPositions.TryParse(ulong.MaxValue >> 1, out var large));
        Assert.Equal(long.MaxValue, large);
        Assert.True(HubPositions.TryParse(null, out var none));
        Assert.Null(none);
        Assert.False(HubPositions.TryParse(1.5d, out _));
        Assert.False(HubPositions.TryParse("3", out _));
        Assert.False(HubPositions.TryParse(-1, out _));
        Assert.False(HubPositions.TryParse(ulong.MaxValue, out _));
    }
}
