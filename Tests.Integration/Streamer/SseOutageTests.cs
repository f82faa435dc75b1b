using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using AiStreaming.Channels;
using AiStreaming.Tests.Infrastructure;
using StackExchange.Redis;

namespace AiStreaming.Tests.Streamer;

/// <summary>
/// The SSE endpoint over HTTP (the streamer's real <c>Program.cs</c> in memory) against a Redis of the test's own:
/// client input is a 400 <c>invalid_position</c>, and a Redis outage never ends the response (200, <c>reconnecting</c>,
/// heartbeats, then served when Redis is back).
/// </summary>
public sealed class SseOutageTests : StreamerOnOwnRedisTests
{
    [Theory]
    [InlineData("e1:1.5")]
    [InlineData("e1:-1")]
    [InlineData("e1:+3")]
    [InlineData("e1:9223372036854775808")]
    [InlineData("no-colon")]
    public async Task A_malformed_Last_Event_ID_is_a_400_invalid_position(string lastEventId)
    {
        var channel = ChannelName.ForConversation(Guid.NewGuid()).Value;
        using var request = Get(channel);
        request.Headers.Add("Last-Event-ID", lastEventId);

        using var response = await Factory.CreateClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("invalid_position", problem.GetProperty("title").GetString());
    }

    [Fact]
    public async Task A_request_during_aRedis_outage_gets_200_reconnecting_and_heartbeats_and_is_served_whenRedis_returns()
    {
        await using var mux = await ConnectionMultiplexer.ConnectAsync(Redis.ConnectionString);
        var publisher = new ChannelPublisher(mux, new ChannelOptions());
        var channel = ChannelName.ForConversation(Guid.NewGuid());
        var first = await publisher.PublishAsync(channel, ChannelEventTypes.Delta, null, ChannelEvent.ToData(new { text = "1 " }));
        var client = Factory.CreateClient();
        client.Timeout = Timeout.InfiniteTimeSpan;
        // Warm the streamer's Redis connection so the kill is a failure it sees.
        using (var warm = await client.SendAsync(Get(channel.Value), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        }

        Redis.Kill();
        using var request = Get(channel.Value);
        request.Headers.Add("Last-Event-ID", $"{first.Epoch}:0");
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var items = SseParser.Create(body, (_, bytes) => Encoding.UTF8.GetString(bytes)).EnumerateAsync(timeout.Token).GetAsyncEnumerator();

        Assert.Equal("reconnecting", (await NextAsync(items)).EventType);
        Assert.Equal("heartbeat", (await NextAsync(items)).EventType);

        await Redis.StartAsync();
        var subscribed = await NextAsync(items, skip: "heartbeat");
        Assert.Equal("subscribed", subscribed.EventType);
        Assert.True(ChannelEvent.Parse(subscribed.Data).Data!.Value.GetProperty("recovered").GetBoolean());
        var replayed = await NextAsync(items, skip: "heartbeat");
        Assert.Equal($"{first.Epoch}:1", replayed.EventId);
        Assert.Equal("1 ", ChannelEvent.Parse(replayed.Data).DeltaText);
    }

    private static HttpRequestMessage Get(string channel) =>
        new(HttpMethod.Get, $"/sse/{channel}?token={Uri.EscapeDataString(TestAuth.SubscriptionToken(TestAuth.DefaultUser, channel))}");

    private static async Task<SseItem<string>> NextAsync(IAsyncEnumerator<SseItem<string>> items, string? skip = null)
    {
        while (await items.MoveNextAsync())
        {
            if (items.Current.EventType != skip && items.Current.EventType != "presence")
            {
                return items.Current;
            }
        }
        throw new InvalidOperationException("The stream ended.");
    }
}
