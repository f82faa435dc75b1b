using AiStreaming.Channels;

namespace AiStreaming.Tests.EndToEnd;

/// <summary>
/// Delivery guarantees under faults, with real processes: a streamer replica's server killed (SIGKILL) mid-stream,
/// Redis stopped and started (losing its data), every Api replica killed mid-generation.
/// </summary>
[Collection(StackCollection.Name)]
public class FaultTests(StackFixture stack)
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Killing_the_serving_streamer_mid_stream_resumes_on_the_other_replica_with_every_offset_once()
    {
        var (conversationId, channel) = await stack.CreateConversationAsync();
        await using var client = await HubStreamClient.StartAsync(stack.Session, channel);
        var messageId = await stack.PostMessageAsync(conversationId, "Describe how replicas share a Redis backplane");
        await client.Transcript.WaitUntilAsync(t => t.TextLength(messageId) > 40, ReplyTimeout, "the reply to be under way");

        var killed = stack.StreamerReplicaOf(client.Transcript.CurrentNode);
        await stack.KillAsync(stack.StreamerIds[killed]);
        try
        {
            await client.Transcript.WaitUntilAsync(t => t.Terminal(messageId) is not null, ReplyTimeout, "the reply to complete after failover");

            var subscriptions = client.Transcript.Subscriptions;
            Assert.True(subscriptions.Count >= 2, "expected a resubscription after the kill");
            Assert.All(subscriptions.Skip(1), s => Assert.True(s.Recovered, "resubscription should recover from history"));
            Assert.NotEqual(killed, stack.StreamerReplicaOf(subscriptions[^1].Node));
            AssertExactlyOnce(client.Transcript);
            var stored = await stack.ReadStoredMessageAsync(messageId);
            Assert.Equal("completed", stored.Status);
            Assert.Equal(stored.Content, client.Transcript.Text(messageId));
        }
        finally
        {
            await stack.StartAsync(stack.StreamerIds[killed]);
        }
    }

    [Fact]
    public async Task Killing_the_serving_streamer_mid_stream_resumes_an_sse_client_with_Last_Event_ID()
    {
        var (conversationId, channel) = await stack.CreateConversationAsync();
        await using var client = await SseStreamClient.StartAsync(stack.Session, channel);
        var messageId = await stack.PostMessageAsync(conversationId, "Explain Last-Event-ID");
        await client.Transcript.WaitUntilAsync(t => t.TextLength(messageId) > 40, ReplyTimeout, "the reply to be under way");

        var killed = stack.StreamerReplicaOf(client.Transcript.CurrentNode);
        await stack.KillAsync(stack.StreamerIds[killed]);
        try
        {
            await client.Transcript.WaitUntilAsync(t => t.Terminal(messageId) is not null, ReplyTimeout, "the reply to complete after failover");

            Assert.True(client.Connections >= 2, "expected the SSE client to reconnect");
            Assert.All(client.Transcript.Subscriptions.Skip(1), s => Assert.True(s.Recovered));
            AssertExactlyOnce(client.Transcript);
            var stored = await stack.ReadStoredMessageAsync(messageId);
            Assert.Equal(stored.Content, client.Transcript.Text(messageId));
        }
        finally
        {
            await stack.StartAsync(stack.StreamerIds[killed]);
        }
    }

    [Fact]
    public async Task Stopping_and_starting_redis_mid_stream_resyncs_clients_and_keeps_the_stored_message_intact()
    {
        var (conversationId, channel) = await stack.CreateConversationAsync();
        await using var hub = await HubStreamClient.StartAsync(stack.Session, channel);
        await using var sse = await SseStreamClient.StartAsync(stack.Session, channel);
        var messageId = await stack.PostMessageAsync(conversationId, "What happens when Redis restarts?");
        await hub.Transcript.WaitUntilAsync(t => t.TextLength(messageId) > 40, ReplyTimeout, "the reply to be under way");

        var streamedBeforeRestart = hub.Transcript.Text(messageId);
        await stack.StopRedisAsync();
        await stack.StartRedisAsync();
        var restartedAt = DateTime.UtcNow;

        foreach (var transcript in new[] { hub.Transcript, sse.Transcript })
        {
            // Redis lost the channel (new epoch): clients learn it, resubscribe without recovery and would reload
            // the message from the Api; the terminal event still arrives (relayed from the outbox) with the full text.
            try
            {
                await transcript.WaitUntilAsync(t => t.Terminal(messageId) is not null, ReplyTimeout, "the terminal event after the Redis restart");
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException(
                    $"{(transcript == hub.Transcript ? "SignalR" : "SSE")} client: {ex.Message} Redis restarted at {restartedAt:HH:mm:ss.fff}. "
                    + await stack.DescribeAsync(channel, messageId));
            }
            Assert.Contains(transcript.Subscriptions.Skip(1), s => !s.Recovered);
        }
        var stored = await stack.ReadStoredMessageAsync(messageId);
        Assert.True(stored.Status == "completed", $"stored {stored.Status} ({stored.ErrorCode}); " + await stack.DescribeAsync(channel, messageId));
        Assert.Equal(stored.Content, hub.Transcript.Terminal(messageId)!.Data!.Value.GetProperty("text").GetString());
        Assert.Equal(stored.Content, sse.Transcript.Terminal(messageId)!.Data!.Value.GetProperty("text").GetString());
        // Intact: the stored text begins with everything streamed before the restart.
        Assert.StartsWith(streamedBeforeRestart, stored.Content);
    }

    [Fact]
    public async Task Killing_every_api_replica_mid_generation_continues_the_message_once_an_api_is_back()
    {
        var (conversationId, channel) = await stack.CreateConversationAsync();
        await using var client = await HubStreamClient.StartAsync(stack.Session, channel);
        var messageId = await stack.PostMessageAsync(conversationId, "Write a long essay about fault tolerance");
        await client.Transcript.WaitUntilAsync(t => t.TextLength(messageId) > 40, ReplyTimeout, "the reply to be under way");

        try
        {
            foreach (var api in stack.ApiIds)
            {
                await stack.KillAsync(api);
            }
            Assert.Equal("streaming", (await stack.ReadStoredMessageAsync(messageId)).Status);
        }
        finally
        {
            foreach (var api in stack.ApiIds)
            {
                await stack.StartAsync(api);
            }
        }

        // A restarted replica takes the reply over and continues it from where it stopped (message.resumed).
        await client.Transcript.WaitUntilAsync(t => t.Terminal(messageId) is not null, ReplyTimeout, "message.completed after the Api restarts");
        var terminal = client.Transcript.Terminal(messageId)!;
        Assert.Equal(ChannelEventTypes.MessageCompleted, terminal.Type);
        var stored = await stack.ReadStoredMessageAsync(messageId);
        Assert.Equal("completed", stored.Status);
        Assert.Equal(stored.Content, terminal.Data!.Value.GetProperty("text").GetString());
        Assert.Equal(stored.Content, client.Transcript.Text(messageId));
        AssertExactlyOnce(client.Transcript);

        // The restarted Api serves new messages normally.
        var next = await stack.PostMessageAsync(conversationId, "Are you back?");
        await client.Transcript.WaitUntilAsync(t => t.Terminal(next) is not null, ReplyTimeout, "a new reply after the restart");
        Assert.Equal(ChannelEventTypes.MessageCompleted, client.Transcript.Terminal(next)!.Type);
    }

    private static void AssertExactlyOnce(ChannelTranscript transcript)
    {
        Assert.Empty(transcript.Anomalies);
        var offsets = transcript.Offsets;
        Assert.Equal(Enumerable.Range((int)offsets[0], offsets.Count).Select(o => (long)o), offsets);
    }
}
