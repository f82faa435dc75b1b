using System.Net;
using System.Net.Http.Json;
using System.Text;
using AiStreaming.Tests.Infrastructure;

namespace AiStreaming.Tests.Api.Conversations;

/// <summary>What <c>POST /api/conversations/{id}/messages</c> rejects, and that a rejected post stores nothing.</summary>
[Collection(ServersCollection.Name)]
public class MessageValidationTests(ServersFixture servers)
{
    public static TheoryData<string, string> InvalidContents => new()
    {
        { "missing", """{}""" },
        { "null", """{ "content": null }""" },
        { "empty", """{ "content": "" }""" },
        { "blank", """{ "content": " \t\r\n " }""" },
        { "too long", $$"""{ "content": "{{new string('x', ApiFactory.MaxPromptChars + 1)}}" }""" },
    };

    [Theory]
    [MemberData(nameof(InvalidContents))]
    public async Task Invalid_content_is_a_validation_problem_naming_the_field_and_stores_nothing(string what, string body)
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();

        using var response = await http.PostAsync($"/api/conversations/{id}/messages", Json(body));

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("content", out var errors), $"no errors.content for {what} content");
        Assert.Contains(errors.EnumerateArray(), e => !string.IsNullOrWhiteSpace(e.GetString()));
        await AssertNothingStoredAsync(id);
    }

    [Fact]
    public async Task Content_of_exactly_the_maximum_length_is_accepted()
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();

        var accepted = await http.PostAcceptedAsync(id, new string('x', ApiFactory.MaxPromptChars));

        await http.WaitUntilEndedAsync(id, accepted.MessageId);
        Assert.Equal(ApiFactory.MaxPromptChars, (await http.GetMessageAsync(id, accepted.UserMessageId)).Content.Length);
    }

    public static TheoryData<string, string> MalformedBodies()
    {
        var data = new TheoryData<string, string>();
        // Development is how the AppHost runs the Api; Production is the default elsewhere.
        foreach (var environment in new[] { "Development", "Production" })
        {
            data.Add(environment, """{ "content": "unterminated""");
            data.Add(environment, """{ "content": 42 }""");
            data.Add(environment, """[ "content" ]""");
            data.Add(environment, """not json""");
            data.Add(environment, ""); // no body at all
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task A_malformed_or_missing_json_body_is_a_400_problem_and_stores_nothing(string environment, string body)
    {
        await using var api = new ApiFactory(servers) { Environment = environment };
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();

        using var response = await http.PostAsync($"/api/conversations/{id}/messages", Json(body));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        await AssertNothingStoredAsync(id);
    }

    [Fact]
    public async Task Content_of_only_NUL_characters_is_rejected_as_blank()
    {
        // PostgreSQL text cannot hold NUL, so the Api strips it: what remains must still be a real message.
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();

        using var response = await http.PostMessageAsync(id, "\0\0\0");

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("content", out _));
        await AssertNothingStoredAsync(id);
    }

    [Fact]
    public async Task NUL_characters_are_stripped_from_the_stored_content()
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();

        var accepted = await http.PostAcceptedAsync(id, "Hello\0 streaming\0 world");

        await http.WaitUntilEndedAsync(id, accepted.MessageId);
        Assert.Equal("Hello streaming world", (await http.GetMessageAsync(id, accepted.UserMessageId)).Content);
    }

    [Fact]
    public async Task Posting_to_an_unknown_conversation_is_a_404_problem_and_stores_nothing()
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();
        var id = Guid.NewGuid();

        using var response = await http.PostMessageAsync(id, "Is anybody there?");

        await response.AssertProblemAsync(HttpStatusCode.NotFound);
        await AssertNothingStoredAsync(id);
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private async Task AssertNothingStoredAsync(Guid conversationId)
    {
        Assert.Equal(0L, await servers.ScalarAsync<long>(
            "SELECT count(*) FROM messages WHERE conversation_id = @id", ("id", conversationId)));
        Assert.Equal(0L, await servers.ScalarAsync<long>(
            "SELECT count(*) FROM outbox WHERE channel = @channel", ("channel", $"conv:{conversationId:D}")));
        Assert.Equal(0L, await servers.ScalarAsync<long>(
            "SELECT count(*) FROM conversations WHERE id = @id AND title IS NOT NULL", ("id", conversationId)));
        Assert.Empty(await servers.ReadChannelAsync(conversationId));
    }
}
