using System.Net;
using System.Net.Sockets;
using AiStreaming.Api.Generation;
using AiStreaming.Channels;
using AiStreaming.Tests.Infrastructure;

namespace AiStreaming.Tests.Api.Generation;

/// <summary>
/// With Redis unreachable the Api keeps working from PostgreSQL: replies are generated and stored, and their events
/// wait in the outbox until a relay can publish them.
/// </summary>
[Collection(ServersCollection.Name)]
public class RedisOutageTests(ServersFixture servers)
{
    [Fact]
    public async Task While_Redis_is_unreachable_a_reply_completes_and_its_events_wait_in_the_outbox()
    {
        await using var api = new ApiFactory(servers, UnreachableRedis());
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();

        var accepted = await http.PostAcceptedAsync(id, "Does this work without Redis?");
        var message = await http.WaitUntilEndedAsync(id, accepted.MessageId);

        Assert.Null(accepted.Epoch);
        Assert.Null(accepted.StartOffset);
        Assert.Equal(MessageStatus.Completed, message.Status);
        Assert.NotEmpty(message.Content);
        Assert.Null(message.Epoch);
        Assert.Null(message.StartOffset);
        // The unpublished text goes first as one delta, then the terminal event, both unpublished.
        Assert.Equal(
            $"{ChannelEventTypes.Delta},{ChannelEventTypes.MessageCompleted}",
            await servers.ScalarAsync<string>(
                "SELECT string_agg(type, ',' ORDER BY id) FROM outbox WHERE message_id = @id AND published_at IS NULL", ("id", accepted.MessageId)));
    }

    [Fact]
    public async Task Events_left_in_the_outbox_are_published_by_the_relay_once_Redis_is_reachable()
    {
        Guid id, messageId;
        string content;
        await using (var offline = new ApiFactory(servers, UnreachableRedis()))
        {
            var http = offline.CreateClient();
            id = await http.CreateConversationAsync();
            messageId = (await http.PostAcceptedAsync(id, "Publish me later")).MessageId;
            content = (await http.WaitUntilEndedAsync(id, messageId)).Content;
        }
        Assert.Empty(await servers.ReadChannelAsync(id));

        await using var online = new ApiFactory(servers);
        online.CreateClient();

        var events = await servers.WaitForTerminalEventAsync(id, messageId);
        Assert.Equal([ChannelEventTypes.Delta, ChannelEventTypes.MessageCompleted], events.Select(e => e.Type));
        Assert.Equal([1L, 2L], events.Select(e => e.Offset));
        Assert.Equal(content, events.DeltaText());
        Assert.Equal(content, events[^1].DataString("text"));
        await Eventually.UntilAsync(
            async () => await servers.ScalarAsync<long>(
                "SELECT count(*) FROM outbox WHERE message_id = @id AND published_at IS NULL", ("id", messageId)) == 0,
            ApiTestExtensions.Patience, "the outbox rows to be marked published");
    }

    [Fact]
    public async Task A_reply_running_on_this_instance_can_be_cancelled_without_Redis()
    {
        await using var api = new ApiFactory(servers, ApiFactory.Slow(30, [.. UnreachableRedis().Select(s => (s.Key, s.Value))]));
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();
        var accepted = await http.PostAcceptedAsync(id, "Cancel me offline");

        using var response = await http.CancelAsync(id, accepted.MessageId);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(MessageStatus.Cancelled, (await http.WaitUntilEndedAsync(id, accepted.MessageId)).Status);
    }

    // A loopback port nobody listens on: connections are refused at once.
    private static Dictionary<string, string?> UnreachableRedis()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new() { ["ConnectionStrings:redis"] = $"127.0.0.1:{port},connectTimeout=500,asyncTimeout=500,syncTimeout=500" };
    }
}
