using AiStreaming.Api.Generation;
using AiStreaming.Channels;
using AiStreaming.Tests.Infrastructure;

namespace AiStreaming.Tests.Api.Generation;

/// <summary>
/// The lease sweeper: a streaming reply whose owner stopped renewing its lease (the owner died) and whose channel
/// holds no history of it ends <c>failed</c> with <c>generation_lost</c> and its checkpoint (takeovers of replies that
/// can continue, and the fencing of their owners: TakeoverTests).
/// </summary>
[Collection(ServersCollection.Name)]
public class LeaseSweeperTests(ServersFixture servers)
{
    [Fact]
    public async Task An_expired_lease_is_failed_with_generation_lost_and_published_through_the_outbox()
    {
        // The sweep interval runs on a fake clock: the sweep after startup comes when the test advances it.
        var time = FakeClock.Now();
        await using var api = new ApiFactory(servers, new Dictionary<string, string?> { ["Generation:SweepInterval"] = "00:00:05" }) { Time = time };
        var http = api.CreateClient();
        var expired = await http.CreateConversationAsync();
        var live = await http.CreateConversationAsync();
        var expiredMessage = await InsertStreamingReplyAsync(expired, "partial text", "now() - interval '1 minute'");
        var liveMessage = await InsertStreamingReplyAsync(live, "still going", "now() + interval '1 hour'");
        Assert.Equal(MessageStatus.Streaming, (await http.GetMessageAsync(expired, expiredMessage)).Status);
        time.Advance(TimeSpan.FromSeconds(5));

        var message = await http.WaitUntilEndedAsync(expired, expiredMessage);
        var events = await servers.WaitForTerminalEventAsync(expired, expiredMessage);

        Assert.Equal(MessageStatus.Failed, message.Status);
        Assert.Equal(FailureCodes.GenerationLost, message.Error?.Code);
        Assert.Equal(GenerationTakeover.LostMessage, message.Error?.Message);
        Assert.Equal("partial text", message.Content);
        Assert.NotNull(message.CompletedAt);
        Assert.Equal(0L, await servers.ScalarAsync<long>(
            "SELECT count(*) FROM messages WHERE id = @id AND (owner_id IS NOT NULL OR lease_expires_at IS NOT NULL)", ("id", expiredMessage)));

        var failed = Assert.Single(events);
        Assert.Equal(ChannelEventTypes.MessageFailed, failed.Type);
        Assert.Equal($"conv:{expired:D}", failed.Channel);
        Assert.Equal(1, failed.Offset);
        Assert.Equal(FailureCodes.GenerationLost, failed.DataString("code"));
        Assert.Equal(GenerationTakeover.LostMessage, failed.DataString("message"));
        Assert.Equal("partial text", failed.DataString("text"));
        await Eventually.UntilAsync(
            async () => await servers.ScalarAsync<long>(
                "SELECT count(*) FROM outbox WHERE message_id = @id AND type = 'message.failed' AND published_at IS NOT NULL",
                ("id", expiredMessage)) == 1,
            ApiTestExtensions.Patience, "the outbox row to be marked published");

        // A lease that has not expired is left alone.
        Assert.Equal(MessageStatus.Streaming, (await http.GetMessageAsync(live, liveMessage)).Status);
        Assert.Empty(await servers.ReadChannelAsync(live));
        await servers.ExecuteAsync("UPDATE messages SET status = 'failed', owner_id = NULL, lease_expires_at = NULL WHERE id = @id", ("id", liveMessage));
    }

    [Fact]
    public async Task Expired_leases_are_swept_when_the_Api_starts()
    {
        var conversation = Guid.NewGuid();
        await servers.ExecuteAsync("INSERT INTO conversations (id, user_id, title) VALUES (@id, 'test-user', 'orphan')", ("id", conversation));
        var messageId = await InsertStreamingReplyAsync(conversation, "left behind", "now() - interval '1 second'");

        await using var api = new ApiFactory(servers, new Dictionary<string, string?> { ["Generation:SweepInterval"] = "01:00:00" });
        var http = api.CreateClient();

        var message = await http.WaitUntilEndedAsync(conversation, messageId);
        Assert.Equal(FailureCodes.GenerationLost, message.Error?.Code);
        Assert.Equal("left behind", message.Content);
        Assert.Equal(ChannelEventTypes.MessageFailed, Assert.Single(await servers.WaitForTerminalEventAsync(conversation, messageId)).Type);
    }

    private async Task<Guid> InsertStreamingReplyAsync(Guid conversationId, string content, string leaseExpiresAt)
    {
        var messageId = Guid.CreateVersion7();
        await servers.ExecuteAsync(
            $"""
            INSERT INTO messages (id, conversation_id, role, content, status, owner_id, lease_expires_at)
            VALUES (@id, @conversationId, 'assistant', @content, 'streaming', 'dead-instance:1:abcdef', {leaseExpiresAt})
            """,
            ("id", messageId), ("conversationId", conversationId), ("content", content));
        return messageId;
    }
}
