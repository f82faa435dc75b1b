using System.Net;
using AiStreaming.Api.Generation;
using AiStreaming.Channels;
using AiStreaming.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AiStreaming.Tests.Api.Generation;

/// <summary><c>POST /api/conversations/{id}/messages/{messageId}/cancel</c>.</summary>
[Collection(ServersCollection.Name)]
public class CancelTests(ServersFixture servers)
{
    [Fact]
    public async Task Cancelling_a_streaming_reply_ends_it_cancelled_with_its_partial_text()
    {
        await using var api = new ApiFactory(servers, ApiFactory.Slow(30));
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();
        var accepted = await http.PostAcceptedAsync(id, "Talk for a long time about cancellation");
        await servers.WaitForDeltasAsync(id, accepted.MessageId, 3);

        using var response = await http.CancelAsync(id, accepted.MessageId);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var message = await http.WaitUntilEndedAsync(id, accepted.MessageId);
        var events = await servers.WaitForTerminalEventAsync(id, accepted.MessageId);
        Assert.Equal(MessageStatus.Cancelled, message.Status);
        Assert.Null(message.Error);
        Assert.NotNull(message.CompletedAt);
        Assert.NotEmpty(message.Content);
        Assert.Equal(message.Content, events.DeltaText());
        Assert.Equal(ChannelEventTypes.MessageCancelled, events[^1].Type);
        Assert.Equal(message.Content, events[^1].DataString("text"));
        Assert.Single(events, e => ChannelEventTypes.IsTerminal(e.Type));
        // A 30 s reply was cut short: far fewer tokens than it would have had.
        Assert.True(events.Count(e => e.Type == ChannelEventTypes.Delta) < 1500);
    }

    [Fact]
    public async Task Cancelling_before_the_first_token_ends_the_reply_cancelled_and_empty()
    {
        await using var api = new ApiFactory(servers, new Dictionary<string, string?> { ["SimulatedModel:TimeToFirstToken"] = "00:01:00" });
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();
        var accepted = await http.PostAcceptedAsync(id, "Think first");

        using var response = await http.CancelAsync(id, accepted.MessageId);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var message = await http.WaitUntilEndedAsync(id, accepted.MessageId);
        var events = await servers.WaitForTerminalEventAsync(id, accepted.MessageId);
        Assert.Equal(MessageStatus.Cancelled, message.Status);
        Assert.Equal("", message.Content);
        Assert.Equal([ChannelEventTypes.MessageStarted, ChannelEventTypes.MessageCancelled], events.Select(e => e.Type));
    }

    [Fact]
    public async Task Cancelling_a_completed_reply_is_a_409_problem()
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();
        var accepted = await http.PostAcceptedAsync(id, "A short one");
        var before = await http.WaitUntilEndedAsync(id, accepted.MessageId);

        using var response = await http.CancelAsync(id, accepted.MessageId);

        var problem = await response.AssertProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal(MessageStatus.Completed, problem.GetProperty("messageStatus").GetString());
        Assert.Equal(before, await http.GetMessageAsync(id, accepted.MessageId));
    }

    [Fact]
    public async Task Cancelling_a_user_message_or_an_already_cancelled_reply_is_a_409_problem()
    {
        await using var api = new ApiFactory(servers, ApiFactory.Slow(30));
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();
        var accepted = await http.PostAcceptedAsync(id, "Cancel me twice");
        (await http.CancelAsync(id, accepted.MessageId)).Dispose();
        await http.WaitUntilEndedAsync(id, accepted.MessageId);

        using var again = await http.CancelAsync(id, accepted.MessageId);
        using var user = await http.CancelAsync(id, accepted.UserMessageId);

        Assert.Equal(MessageStatus.Cancelled, (await again.AssertProblemAsync(HttpStatusCode.Conflict)).GetProperty("messageStatus").GetString());
        await user.AssertProblemAsync(HttpStatusCode.Conflict);
        Assert.Single(await servers.WaitForTerminalEventAsync(id, accepted.MessageId), e => ChannelEventTypes.IsTerminal(e.Type));
    }

    [Fact]
    public async Task Cancelling_an_unknown_message_is_a_404_problem()
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();

        using var unknownMessage = await http.CancelAsync(id, Guid.NewGuid());
        using var unknownConversation = await http.CancelAsync(Guid.NewGuid(), Guid.NewGuid());

        await unknownMessage.AssertProblemAsync(HttpStatusCode.NotFound);
        await unknownConversation.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_cancel_sent_to_another_Api_instance_reaches_the_owner_through_Redis()
    {
        await using var owner = new ApiFactory(servers, ApiFactory.Slow(30));
        await using var other = new ApiFactory(servers, ApiFactory.Slow(30));
        var ownerHttp = owner.CreateClient();
        var otherHttp = other.CreateClient();
        var id = await ownerHttp.CreateConversationAsync();
        var accepted = await ownerHttp.PostAcceptedAsync(id, "Which instance runs this?");
        await servers.WaitForDeltasAsync(id, accepted.MessageId, 2);
        Assert.False(other.Services.GetRequiredService<GenerationRegistry>().IsRunning(accepted.MessageId));

        using var response = await otherHttp.CancelAsync(id, accepted.MessageId);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var message = await otherHttp.WaitUntilEndedAsync(id, accepted.MessageId);
        Assert.Equal(MessageStatus.Cancelled, message.Status);
        Assert.Equal(ChannelEventTypes.MessageCancelled, (await servers.WaitForTerminalEventAsync(id, accepted.MessageId))[^1].Type);
    }
}
