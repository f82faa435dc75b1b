using System.Net;
using System.Net.Http.Json;
using AiStreaming.Api.Conversations;
using AiStreaming.Api.Generation;
using AiStreaming.Tests.Infrastructure;

namespace AiStreaming.Tests.Api.Conversations;

/// <summary>Creating, reading and listing conversations through <c>/api/conversations</c>.</summary>
[Collection(ServersCollection.Name)]
public class ConversationsApiTests(ServersFixture servers)
{
    [Fact]
    public async Task Creating_a_conversation_answers_201_with_its_location_and_channel()
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();

        using var response = await http.PostAsJsonAsync("/api/conversations", new { title = "  Streaming questions  " });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = (await response.Content.ReadFromJsonAsync<Conversation>())!;
        Assert.Equal($"/api/conversations/{created.Id}", response.Headers.Location?.OriginalString);
        Assert.Equal("Streaming questions", created.Title);
        Assert.Equal($"conv:{created.Id:D}", created.Channel);
        Assert.Empty(created.Messages);

        var read = await http.GetConversationAsync(created.Id);
        Assert.Equal(created.Id, read.Id);
        Assert.Equal("Streaming questions", read.Title);
        Assert.Equal(created.Channel, read.Channel);
        Assert.Equal(created.CreatedAt, read.CreatedAt);
    }

    [Fact]
    public async Task Creating_a_conversation_without_a_body_leaves_the_title_to_the_first_message()
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();

        using var response = await http.PostAsync("/api/conversations", null);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = (await response.Content.ReadFromJsonAsync<Conversation>())!;
        Assert.Null(created.Title);

        var accepted = await http.PostAcceptedAsync(created.Id, "How does   backpressure\nwork in streaming?");
        await http.WaitUntilEndedAsync(created.Id, accepted.MessageId);
        Assert.Equal("How does backpressure work in streaming?", (await http.GetConversationAsync(created.Id)).Title);
    }

    [Fact]
    public async Task A_title_longer_than_200_characters_is_a_validation_problem()
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();
        var before = await servers.ScalarAsync<long>("SELECT count(*) FROM conversations");

        using var response = await http.PostAsJsonAsync("/api/conversations", new { title = new string('t', ConversationsApi.MaxTitleLength + 1) });

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("title", out _));
        Assert.Equal(before, await servers.ScalarAsync<long>("SELECT count(*) FROM conversations"));
    }

    [Fact]
    public async Task Getting_a_conversation_returns_its_messages_oldest_first()
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync("ordering");

        var first = await http.PostAcceptedAsync(id, "First question about latency");
        await http.WaitUntilEndedAsync(id, first.MessageId);
        var second = await http.PostAcceptedAsync(id, "Second question about recovery");
        await http.WaitUntilEndedAsync(id, second.MessageId);

        var conversation = await http.GetConversationAsync(id);
        Assert.Equal($"conv:{id:D}", conversation.Channel);
        Assert.Equal([first.UserMessageId, first.MessageId, second.UserMessageId, second.MessageId], conversation.Messages.Select(m => m.Id));
        Assert.Equal(["user", "assistant", "user", "assistant"], conversation.Messages.Select(m => m.Role));
        Assert.All(conversation.Messages, m => Assert.Equal(MessageStatus.Completed, m.Status));
        Assert.All(conversation.Messages, m => Assert.Equal(id, m.ConversationId));
        Assert.Equal("First question about latency", conversation.Messages[0].Content);
        Assert.Equal("Second question about recovery", conversation.Messages[2].Content);
        Assert.Equal(conversation.Messages.Select(m => m.CreatedAt).Order(), conversation.Messages.Select(m => m.CreatedAt));
        Assert.True(conversation.UpdatedAt >= conversation.Messages[^1].CreatedAt);
    }

    [Fact]
    public async Task Listing_conversations_returns_the_newest_first()
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();
        var created = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            created.Add(await http.CreateConversationAsync($"list {i}"));
        }

        var list = (await http.GetFromJsonAsync<List<ConversationSummary>>("/api/conversations"))!;

        Assert.Equal(Enumerable.Reverse(created), list.Take(3).Select(c => c.Id));
        Assert.Equal(["list 2", "list 1", "list 0"], list.Take(3).Select(c => c.Title));
        Assert.Equal(list.Select(c => c.CreatedAt).OrderDescending(), list.Select(c => c.CreatedAt));
    }

    [Fact]
    public async Task Getting_an_unknown_conversation_is_a_404_problem()
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();

        using var response = await http.GetAsync($"/api/conversations/{Guid.NewGuid()}");

        await response.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Getting_an_unknown_message_or_a_message_of_another_conversation_is_a_404_problem()
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();
        var other = await http.CreateConversationAsync();
        var accepted = await http.PostAcceptedAsync(id, "Where does this message live?");
        await http.WaitUntilEndedAsync(id, accepted.MessageId);

        using var unknown = await http.GetAsync($"/api/conversations/{id}/messages/{Guid.NewGuid()}");
        using var elsewhere = await http.GetAsync($"/api/conversations/{other}/messages/{accepted.MessageId}");

        await unknown.AssertProblemAsync(HttpStatusCode.NotFound);
        await elsewhere.AssertProblemAsync(HttpStatusCode.NotFound);
    }
}
