using System.Net;
using System.Net.Http.Json;
using AiStreaming.Api.Conversations;
using AiStreaming.Tests.Infrastructure;

namespace AiStreaming.Tests.Api.Conversations;

/// <summary><c>Idempotency-Key</c> on <c>POST /api/conversations/{id}/messages</c>.</summary>
[Collection(ServersCollection.Name)]
public class IdempotencyTests(ServersFixture servers)
{
    [Fact]
    public async Task A_retry_with_the_same_key_returns_the_first_answer_and_starts_no_second_generation()
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();
        var key = Guid.NewGuid().ToString();

        using var first = await PostAsync(http, id, "Hello once", key);
        var firstAnswer = await first.Content.ReadFromJsonAsync<MessageAccepted>();
        await http.WaitUntilEndedAsync(id, firstAnswer!.MessageId);
        using var retry = await PostAsync(http, id, "Hello once", key);
        var retryAnswer = await retry.Content.ReadFromJsonAsync<MessageAccepted>();

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        Assert.Equal(firstAnswer, retryAnswer);
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.NotNull(retryAnswer!.Epoch);
        Assert.Equal(2, (await http.GetConversationAsync(id)).Messages.Count);
    }

    [Fact]
    public async Task Concurrent_retries_with_one_key_start_one_generation()
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();
        var key = Guid.NewGuid().ToString();

        var responses = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PostAsync(http, id, "Only one reply", key)));
        var answers = await Task.WhenAll(responses.Select(r => r.Content.ReadFromJsonAsync<MessageAccepted>()));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Accepted, r.StatusCode));
        Assert.Single(answers.Select(a => a!.MessageId).Distinct());
        Assert.Equal(2, (await http.GetConversationAsync(id)).Messages.Count);
    }

    [Fact]
    public async Task The_same_key_with_another_body_is_a_422_problem()
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();
        var key = Guid.NewGuid().ToString();
        using var first = await PostAsync(http, id, "First content", key);
        var accepted = await first.Content.ReadFromJsonAsync<MessageAccepted>();
        await http.WaitUntilEndedAsync(id, accepted!.MessageId);

        using var other = await PostAsync(http, id, "Other content", key);

        await other.AssertProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Equal(2, (await http.GetConversationAsync(id)).Messages.Count);
    }

    [Fact]
    public async Task Keys_are_per_user()
    {
        await using var api = new ApiFactory(servers);
        var alice = api.CreateClientFor("idem-alice");
        var bob = api.CreateClientFor("idem-bob");
        var key = Guid.NewGuid().ToString();

        using var a = await PostAsync(alice, await alice.CreateConversationAsync(), "Same words", key);
        using var b = await PostAsync(bob, await bob.CreateConversationAsync(), "Same words", key);

        Assert.Equal(HttpStatusCode.Accepted, a.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, b.StatusCode);
        Assert.NotEqual((await a.Content.ReadFromJsonAsync<MessageAccepted>())!.MessageId, (await b.Content.ReadFromJsonAsync<MessageAccepted>())!.MessageId);
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("nön-ascii")]
    public async Task A_malformed_key_is_a_400_problem(string key)
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();

        using var response = await PostAsync(http, id, "Hello", key);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Empty((await http.GetConversationAsync(id)).Messages);
    }

    [Fact]
    public async Task A_key_longer_than_255_characters_is_a_400_problem()
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();

        using var response = await PostAsync(http, id, "Hello", new string('k', IdempotencyKeys.MaxLength + 1));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest);
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient http, Guid conversationId, string content, string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/conversations/{conversationId}/messages")
        {
            Content = JsonContent.Create(new { content }),
        };
        request.Headers.TryAddWithoutValidation(IdempotencyKeys.HeaderName, key);
        return http.SendAsync(request);
    }
}
