using System.Net;
using AiStreaming.Api.Generation;
using AiStreaming.Channels;
using AiStreaming.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AiStreaming.Tests.Api.Generation;

/// <summary>
/// Two Api instances on one Redis and one PostgreSQL (the AppHost runs the Api with two replicas): cancel reaches the
/// owner, and the lease sweeper and outbox relay of both never produce a terminal event twice.
/// </summary>
[Collection(ServersCollection.Name)]
public class TwoApiTests(ServersFixture servers)
{
    [Fact]
    public async Task A_cancel_through_the_other_instance_ends_the_reply_once_with_reason_user()
    {
        await using var a = new ApiFactory(servers, ApiFactory.Slow(30));
        await using var b = new ApiFactory(servers, ApiFactory.Slow(30));
        var httpA = a.CreateClient();
        var httpB = b.CreateClient();
        var id = await httpA.CreateConversationAsync();
        var accepted = await httpA.PostAcceptedAsync(id, "Stop me from the other side");
        await servers.WaitForDeltasAsync(id, accepted.MessageId, 2);

        using var response = await httpB.CancelAsync(id, accepted.MessageId);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await httpB.WaitUntilEndedAsync(id, accepted.MessageId);
        var events = await servers.WaitForTerminalEventAsync(id, accepted.MessageId);
        var terminal = Assert.Single(events, e => ChannelEventTypes.IsTerminal(e.Type));
        Assert.Equal(ChannelEventTypes.MessageCancelled, terminal.Type);
        Assert.Equal(CancelReasons.User, terminal.DataString("reason"));
        Assert.Equal(1L, await servers.ScalarAsync<long>("SELECT count(*) FROM outbox WHERE message_id = @id", ("id", accepted.MessageId)));
    }

    [Fact]
    public async Task Two_sweepers_racing_over_expired_leases_fail_each_message_once()
    {
        await using var a = new ApiFactory(servers, new Dictionary<string, string?> { ["Generation:SweepInterval"] = "01:00:00" });
        await using var b = new ApiFactory(servers, new Dictionary<string, string?> { ["Generation:SweepInterval"] = "01:00:00" });
        var http = a.CreateClient();
        b.CreateClient();
        var conversations = new List<(Guid Conversation, Guid Message)>();
        for (var i = 0; i < 20; i++)
        {
            var conversation = await http.CreateConversationAsync();
            var message = Guid.CreateVersion7();
            await servers.ExecuteAsync(
                """
                INSERT INTO messages (id, conversation_id, role, content, status, owner_id, lease_expires_at)
                VALUES (@id, @conversationId, 'assistant', 'partial', 'streaming', 'dead-instance:1:abcdef', now() - interval '1 second')
                """,
                ("id", message), ("conversationId", conversation));
            conversations.Add((conversation, message));
        }

        var swept = await Task.WhenAll(Sweeper(a).SweepAsync(CancellationToken.None), Sweeper(b).SweepAsync(CancellationToken.None));

        Assert.True(swept.Sum() >= conversations.Count);
        foreach (var (conversation, message) in conversations)
        {
            Assert.Equal(1L, await servers.ScalarAsync<long>("SELECT count(*) FROM outbox WHERE message_id = @id", ("id", message)));
            var events = await servers.WaitForTerminalEventAsync(conversation, message);
            Assert.Single(events, e => ChannelEventTypes.IsTerminal(e.Type));
        }
    }

    private static LeaseSweeper Sweeper(ApiFactory api) =>
        api.Services.GetServices<IHostedService>().OfType<LeaseSweeper>().Single();
}
