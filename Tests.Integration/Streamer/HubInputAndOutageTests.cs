using AiStreaming.Channels;
using AiStreaming.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace AiStreaming.Tests.Streamer;

/// <summary>
/// The hub in memory against a Redis of the test's own: a malformed <c>sinceOffset</c> is the typed
/// <c>invalid_position</c> error, and a Subscribe during a Redis outage streams <c>reconnecting</c> rather than failing.
/// </summary>
public sealed class HubInputAndOutageTests : StreamerOnOwnRedisTests
{
    // (3.0 is not here: the .NET client writes it as the JSON number 3; HubPositionsTests covers a JSON 3.0.)
    public static TheoryData<object> MalformedOffsets => new() { 1.5, "3", -1L, 1e19 };

    [Theory]
    [MemberData(nameof(MalformedOffsets))]
    public async Task A_malformed_sinceOffset_is_invalid_position(object sinceOffset)
    {
        await using var connection = await ConnectAsync();
        var channel = ChannelName.ForConversation(Guid.NewGuid()).Value;

        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var _ in connection.StreamAsync<ChannelEvent>("Subscribe", channel, sinceOffset, "e1", Token(channel)))
            {
            }
        });

        Assert.Contains("HubException: invalid_position:", error.Message);
    }

    [Fact]
    public async Task A_subscribe_during_aRedis_outage_streams_reconnecting_then_continues_whenRedis_returns()
    {
        await using var connection = await ConnectAsync();
        var channel = ChannelName.ForConversation(Guid.NewGuid());
        await using (var warm = connection.StreamAsync<ChannelEvent>("Subscribe", channel.Value, null, null, Token(channel.Value)).GetAsyncEnumerator())
        {
            Assert.True(await warm.MoveNextAsync()); // the streamer's Redis connection is up
        }

        Redis.Kill();
        await AssertReconnectingThenSubscribedAsync(connection, channel);
    }

    [Fact]
    public async Task A_new_connection_during_aRedis_outage_subscribes_and_hears_reconnecting()
    {
        await using (var first = await ConnectAsync())
        {
        }
        Redis.Kill();
        var channel = ChannelName.ForConversation(Guid.NewGuid());

        await using var connection = await ConnectAsync();
        await AssertReconnectingThenSubscribedAsync(connection, channel);
    }

    // Subscribes while Redis is down: the first frame is `reconnecting`; once Redis is started again, `subscribed`.
    private async Task AssertReconnectingThenSubscribedAsync(HubConnection connection, ChannelName channel)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using var frames = connection.StreamAsync<ChannelEvent>("Subscribe", channel.Value, null, null, Token(channel.Value), timeout.Token)
            .Where(e => e.Type != ChannelEventTypes.Presence).GetAsyncEnumerator(timeout.Token);
        Assert.True(await frames.MoveNextAsync());
        Assert.Equal("reconnecting", frames.Current.Type);

        await Redis.StartAsync();
        Assert.True(await frames.MoveNextAsync());
        Assert.Equal(ChannelEventTypes.Subscribed, frames.Current.Type);
    }

    private async Task<HubConnection> ConnectAsync()
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(Factory.Server.BaseAddress, "/hubs/stream"), options =>
            {
                options.Transports = HttpTransportType.LongPolling;
                options.HttpMessageHandlerFactory = _ => Factory.Server.CreateHandler();
                options.Headers["Authorization"] = TestAuth.Bearer(TestAuth.DefaultUser).ToString();
            })
            .Build();
        await connection.StartAsync();
        return connection;
    }

    private static string Token(string channel) => TestAuth.SubscriptionToken(TestAuth.DefaultUser, channel);
}
