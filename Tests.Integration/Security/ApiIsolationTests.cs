using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AiStreaming.Api.Conversations;
using AiStreaming.Api.Generation;
using AiStreaming.Channels;
using AiStreaming.Tests.Api;
using AiStreaming.Tests.Infrastructure;

namespace AiStreaming.Tests.Security;

/// <summary>The Api acts only for the owner of a conversation; other users see 404, anonymous callers 401.</summary>
[Collection(ServersCollection.Name)]
public class ApiIsolationTests(ServersFixture servers)
{
    [Fact]
    public async Task Another_user_cannot_list_read_post_to_cancel_or_get_a_token_for_a_conversation()
    {
        await using var api = new ApiFactory(servers, ApiFactory.Slow(5));
        var alice = api.CreateClientFor("alice-" + Guid.NewGuid());
        var bob = api.CreateClientFor("bob-" + Guid.NewGuid());
        var id = await alice.CreateConversationAsync("alice's secret plans");
        var accepted = await alice.PostAcceptedAsync(id, "hello");

        var bobsList = await bob.GetFromJsonAsync<List<ConversationSummary>>("/api/conversations");
        Assert.DoesNotContain(bobsList!, c => c.Id == id);
        Assert.Contains((await alice.GetFromJsonAsync<List<ConversationSummary>>("/api/conversations"))!, c => c.Id == id);

        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/api/conversations/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/api/conversations/{id}/messages/{accepted.MessageId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync($"/api/conversations/{id}/token")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.PostMessageAsync(id, "let me in")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.CancelAsync(id, accepted.MessageId)).StatusCode);

        // Bob's attempts changed nothing: the reply still streams and has a single user message before it.
        var conversation = await alice.GetConversationAsync(id);
        Assert.Equal(2, conversation.Messages.Count);
        Assert.Equal(MessageStatus.Streaming, conversation.Messages[1].Status);
        Assert.Equal(HttpStatusCode.Accepted, (await alice.CancelAsync(id, accepted.MessageId)).StatusCode);
    }

    [Fact]
    public async Task Anonymous_calls_are_refused_with_401()
    {
        await using var api = new ApiFactory(servers);
        var anonymous = api.CreateAnonymousClient();

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/conversations")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/api/conversations", new { })).StatusCode);
    }

    [Fact]
    public async Task A_forged_user_token_is_refused_with_401()
    {
        await using var api = new ApiFactory(servers);
        var forged = api.CreateAnonymousClient();
        var other = new AiStreaming.Channels.Security.AuthOptions { SigningKey = Convert.ToBase64String(new byte[32]) };
        forged.DefaultRequestHeaders.Authorization = new("Bearer", new AiStreaming.Channels.Security.UserTokens(other, TimeProvider.System).Issue("alice", "alice"));

        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.GetAsync("/api/conversations")).StatusCode);
    }

    [Fact]
    public async Task The_owner_gets_a_subscription_token_for_the_conversation_channel()
    {
        await using var api = new ApiFactory(servers);
        var alice = api.CreateClientFor("alice-" + Guid.NewGuid());
        var id = await alice.CreateConversationAsync();

        var answer = await alice.GetFromJsonAsync<JsonElement>($"/api/conversations/{id}/token");

        var channel = ChannelName.ForConversation(id);
        Assert.Equal(channel.Value, answer.GetProperty("channel").GetString());
        Assert.True(answer.GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(1));
        var check = await TestAuth.SubscriptionTokens.ValidateAsync(answer.GetProperty("token").GetString(), channel);
        Assert.True(check.IsValid, check.Reason);
    }

    [Fact]
    public async Task Posting_faster_than_the_per_user_limit_answers_429_problem()
    {
        await using var api = new ApiFactory(servers, new Dictionary<string, string?> { ["Limits:PostsPerMinute"] = "3" });
        var alice = api.CreateClientFor("alice-" + Guid.NewGuid());
        var bob = api.CreateClientFor("bob-" + Guid.NewGuid());
        for (var i = 0; i < 3; i++)
        {
            await alice.CreateConversationAsync();
        }

        using var limited = await alice.PostAsJsonAsync("/api/conversations", new { });
        var problem = await limited.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal("Too many requests", problem.GetProperty("title").GetString());
        Assert.True(limited.Headers.Contains("Retry-After"));

        // Per user: Bob is not affected.
        await bob.CreateConversationAsync();
    }

    [Fact]
    public async Task Starting_more_concurrent_generations_than_allowed_answers_429_problem()
    {
        await using var api = new ApiFactory(servers, ApiFactory.Slow(5, ("Limits:MaxConcurrentGenerations", "2")));
        var alice = api.CreateClientFor("alice-" + Guid.NewGuid());
        var conversations = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            conversations.Add(await alice.CreateConversationAsync());
        }
        var first = await alice.PostAcceptedAsync(conversations[0], "one");
        await alice.PostAcceptedAsync(conversations[1], "two");

        using var third = await alice.PostMessageAsync(conversations[2], "three");
        var problem = await third.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal("Too many replies streaming", problem.GetProperty("title").GetString());

        // Once one ends, the next is accepted.
        Assert.Equal(HttpStatusCode.Accepted, (await alice.CancelAsync(conversations[0], first.MessageId)).StatusCode);
        await alice.WaitUntilEndedAsync(conversations[0], first.MessageId);
        await alice.PostAcceptedAsync(conversations[2], "three");
    }
}
