using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AiStreaming.Api.Conversations;
using AiStreaming.Api.Generation;
using AiStreaming.Channels;
using AiStreaming.Tests.Infrastructure;

namespace AiStreaming.Tests.Api.Generation;

/// <summary>
/// A posted message's reply, end to end inside the Api: the 202 answer, the channel history in Redis (the contract
/// of docs/protocol.md) and the stored message in PostgreSQL.
/// </summary>
[Collection(ServersCollection.Name)]
public class GenerationTests(ServersFixture servers)
{
    [Fact]
    public async Task Posting_a_message_answers_202_with_the_position_of_message_started()
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();

        using var response = await http.PostMessageAsync(id, "How do offsets work?");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = (await response.Content.ReadFromJsonAsync<MessageAccepted>())!;
        Assert.Equal(id, accepted.ConversationId);
        Assert.Equal($"conv:{id:D}", accepted.Channel);
        Assert.NotEqual(accepted.UserMessageId, accepted.MessageId);
        Assert.Matches("^[0-9a-f]{12}$", accepted.Epoch);
        Assert.Equal(1, accepted.StartOffset); // a new channel
        Assert.Equal($"/api/conversations/{id}/messages/{accepted.MessageId}", response.Headers.Location?.OriginalString);

        var started = (await servers.ReadChannelAsync(id)).First();
        Assert.Equal(ChannelEventTypes.MessageStarted, started.Type);
        Assert.Equal(accepted.MessageId, started.MessageId);
        Assert.Equal(accepted.Epoch, started.Epoch);
        Assert.Equal(accepted.StartOffset, started.Offset);
        Assert.Equal("assistant", started.DataString("role"));
        var userMessage = started.Data!.Value.GetProperty("userMessage");
        Assert.Equal(accepted.UserMessageId, userMessage.GetProperty("id").GetGuid());
        Assert.Equal("How do offsets work?", userMessage.GetProperty("content").GetString());
    }

    [Fact]
    public async Task A_reply_completes_and_its_stored_text_equals_the_concatenated_deltas_of_the_stream()
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();

        var accepted = await http.PostAcceptedAsync(id, "Explain resumable streaming with Redis Streams");
        var message = await http.WaitUntilEndedAsync(id, accepted.MessageId);
        var events = await servers.WaitForTerminalEventAsync(id, accepted.MessageId);

        Assert.Equal(MessageStatus.Completed, message.Status);
        Assert.Equal("assistant", message.Role);
        Assert.Null(message.Error);
        Assert.NotNull(message.CompletedAt);
        Assert.Equal(accepted.Epoch, message.Epoch);
        Assert.Equal(accepted.StartOffset, message.StartOffset);
        Assert.NotEmpty(message.Content);

        // Every event of the new channel belongs to this reply: started, deltas, completed, at contiguous offsets.
        Assert.Equal(events.Select(e => e.RawJson), (await servers.ReadChannelAsync(id)).Select(e => e.RawJson));
        Assert.Equal(Enumerable.Range((int)accepted.StartOffset!.Value, events.Count).Select(o => (long)o), events.Select(e => e.Offset));
        Assert.All(events, e => Assert.Equal(accepted.Epoch, e.Epoch));
        Assert.All(events, e => Assert.Equal(accepted.Channel, e.Channel));
        Assert.Equal(ChannelEventTypes.MessageStarted, events[0].Type);
        Assert.All(events.Skip(1).SkipLast(1), e => Assert.Equal(ChannelEventTypes.Delta, e.Type));
        Assert.All(events.Skip(1).SkipLast(1), e => Assert.False(string.IsNullOrEmpty(e.DeltaText)));
        Assert.Equal(message.Content, events.DeltaText());

        var completed = events[^1];
        Assert.Equal(ChannelEventTypes.MessageCompleted, completed.Type);
        Assert.Equal(message.Content, completed.DataString("text"));
        var outputTokens = completed.Data!.Value.GetProperty("usage").GetProperty("outputTokens").GetInt32();
        Assert.InRange(outputTokens, ApiFactory.MinTokens, ApiFactory.MaxTokens);
        // Rolled up (RollupWindow): never more deltas than tokens, the first token alone.
        Assert.InRange(events.Count(e => e.Type == ChannelEventTypes.Delta), 1, outputTokens);
    }

    [Fact]
    public async Task The_terminal_event_goes_through_the_outbox_and_is_marked_published()
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();

        var accepted = await http.PostAcceptedAsync(id, "What is a transactional outbox?");
        var message = await http.WaitUntilEndedAsync(id, accepted.MessageId);

        await Eventually.UntilAsync(
            async () => await servers.ScalarAsync<long>(
                "SELECT count(*) FROM outbox WHERE message_id = @id AND published_at IS NOT NULL", ("id", accepted.MessageId)) == 1,
            ApiTestExtensions.Patience, "the outbox row to be published");
        Assert.Equal(ChannelEventTypes.MessageCompleted, await servers.ScalarAsync<string>(
            "SELECT type FROM outbox WHERE message_id = @id", ("id", accepted.MessageId)));
        using var data = JsonDocument.Parse(await servers.ScalarAsync<string>(
            "SELECT data::text FROM outbox WHERE message_id = @id", ("id", accepted.MessageId)));
        Assert.Equal(message.Content, data.RootElement.GetProperty("text").GetString());
    }

    [Fact]
    public async Task A_second_reply_continues_the_channel_offsets_after_the_first()
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();

        var first = await http.PostAcceptedAsync(id, "First: what is an epoch?");
        await http.WaitUntilEndedAsync(id, first.MessageId);
        var firstEvents = await servers.WaitForTerminalEventAsync(id, first.MessageId);
        var second = await http.PostAcceptedAsync(id, "Second: and an offset?");
        var secondMessage = await http.WaitUntilEndedAsync(id, second.MessageId);
        var secondEvents = await servers.WaitForTerminalEventAsync(id, second.MessageId);

        Assert.Equal(first.Epoch, second.Epoch);
        Assert.Equal(firstEvents[^1].Offset + 1, second.StartOffset);
        Assert.Equal(Enumerable.Range(1, firstEvents.Count + secondEvents.Count).Select(o => (long)o), (await servers.ReadChannelAsync(id)).Select(e => e.Offset));
        Assert.Equal(secondMessage.Content, secondEvents.DeltaText());
    }

    [Fact]
    public async Task Deltas_carry_FlushEveryTokens_tokens_each_after_the_first_token_alone()
    {
        await using var api = new ApiFactory(servers, new Dictionary<string, string?>
        {
            ["Generation:FlushEveryTokens"] = "5",
            ["Generation:RollupWindow"] = "00:00:01",
        });
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();

        var accepted = await http.PostAcceptedAsync(id, "Batch the tokens please");
        var message = await http.WaitUntilEndedAsync(id, accepted.MessageId);
        var events = await servers.WaitForTerminalEventAsync(id, accepted.MessageId);

        var tokens = events[^1].Data!.Value.GetProperty("usage").GetProperty("outputTokens").GetInt32();
        var deltas = events.Where(e => e.Type == ChannelEventTypes.Delta).ToList();
        Assert.Equal(1 + (tokens - 1 + 4) / 5, deltas.Count);
        Assert.Equal(message.Content, deltas[0].DeltaText + string.Concat(deltas.Skip(1).Select(d => d.DeltaText)));
        Assert.Equal(message.Content, events.DeltaText());
    }

    [Fact]
    public async Task Pending_tokens_are_published_when_the_RollupWindow_ends_even_below_FlushEveryTokens()
    {
        // 30 tokens over ≈ 300 ms, rolled up over 50 ms windows: several deltas, each holding several tokens.
        await using var api = new ApiFactory(servers, new Dictionary<string, string?>
        {
            ["SimulatedModel:TokensPerSecond"] = "100",
            ["SimulatedModel:MinTokens"] = "30",
            ["SimulatedModel:MaxTokens"] = "30",
            ["Generation:FlushEveryTokens"] = "1000",
            ["Generation:RollupWindow"] = "00:00:00.050",
        });
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();

        var accepted = await http.PostAcceptedAsync(id, "Flush on a timer");
        var message = await http.WaitUntilEndedAsync(id, accepted.MessageId);
        var events = await servers.WaitForTerminalEventAsync(id, accepted.MessageId);

        Assert.InRange(events.Count(e => e.Type == ChannelEventTypes.Delta), 2, 29);
        Assert.Equal(message.Content, events.DeltaText());
    }

    [Fact]
    public async Task Posting_while_a_reply_is_streaming_is_a_409_problem_naming_that_reply()
    {
        await using var api = new ApiFactory(servers, ApiFactory.Slow(30));
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();
        var streaming = await http.PostAcceptedAsync(id, "A long answer please");

        using var response = await http.PostMessageAsync(id, "Are you done yet?");

        var problem = await response.AssertProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal(streaming.MessageId, problem.GetProperty("messageId").GetGuid());
        Assert.Equal(2L, await servers.ScalarAsync<long>("SELECT count(*) FROM messages WHERE conversation_id = @id", ("id", id)));

        // Once the reply ends (here: cancelled), the conversation takes messages again.
        using var cancel = await http.CancelAsync(id, streaming.MessageId);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        await http.WaitUntilEndedAsync(id, streaming.MessageId);
        using var next = await http.PostMessageAsync(id, "Now?");
        Assert.Equal(HttpStatusCode.Accepted, next.StatusCode);
    }

    [Fact]
    public async Task Concurrent_posts_to_one_conversation_start_exactly_one_reply()
    {
        await using var api = new ApiFactory(servers, ApiFactory.Slow(30));
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => http.PostMessageAsync(id, $"Racing post {i}")));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Accepted);
        Assert.Equal(5, responses.Count(r => r.StatusCode == HttpStatusCode.Conflict));
        Assert.Equal(1L, await servers.ScalarAsync<long>(
            "SELECT count(*) FROM messages WHERE conversation_id = @id AND role = 'user'", ("id", id)));
        Assert.Equal(1L, await servers.ScalarAsync<long>(
            "SELECT count(*) FROM messages WHERE conversation_id = @id AND role = 'assistant'", ("id", id)));
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }
}
