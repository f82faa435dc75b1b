using AiStreaming.Api.Generation;
using AiStreaming.Channels;
using AiStreaming.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace AiStreaming.Tests.Api.Generation;

/// <summary>
/// The first-token, inactivity and total timeouts of a generation, on a fake clock: the Api and its simulated model run
/// on a <c>FakeTimeProvider</c> that the test advances, so which timeout fires does not depend on the machine's speed.
/// </summary>
[Collection(ServersCollection.Name)]
public class TimeoutTests(ServersFixture servers)
{
    [Fact]
    public async Task No_first_token_within_FirstTokenTimeout_fails_the_reply_with_first_token_timeout()
    {
        var time = FakeClock.Now();
        await using var api = new ApiFactory(servers, new Dictionary<string, string?>
        {
            ["SimulatedModel:TimeToFirstToken"] = "00:01:00",
            ["Generation:FirstTokenTimeout"] = "00:00:00.300",
        })
        { Time = time };
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();

        var accepted = await http.PostAcceptedAsync(id, "Take your time");
        var advanced = await time.AdvanceUntilAsync(TimeSpan.FromMilliseconds(50), Ended(api, accepted.MessageId));
        var message = await http.WaitUntilEndedAsync(id, accepted.MessageId);
        var events = await servers.WaitForTerminalEventAsync(id, accepted.MessageId);

        Assert.Equal(MessageStatus.Failed, message.Status);
        Assert.Equal(FailureCodes.FirstTokenTimeout, message.Error?.Code);
        Assert.False(string.IsNullOrWhiteSpace(message.Error?.Message));
        Assert.Equal("", message.Content);
        Assert.Equal([ChannelEventTypes.MessageStarted, ChannelEventTypes.MessageFailed], events.Select(e => e.Type));
        Assert.Equal(FailureCodes.FirstTokenTimeout, events[^1].DataString("code"));
        Assert.Equal(message.Error?.Message, events[^1].DataString("message"));
        Assert.Equal("", events[^1].DataString("text"));
        Assert.InRange(advanced, TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(59));
    }

    [Fact]
    public async Task A_reply_running_past_TotalTimeout_fails_with_total_timeout_and_keeps_its_partial_text()
    {
        var time = FakeClock.Now();
        await using var api = new ApiFactory(servers, ApiFactory.Slow(30, ("Generation:TotalTimeout", "00:00:00.500"))) { Time = time };
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();

        var accepted = await http.PostAcceptedAsync(id, "Say a lot");
        var advanced = await time.AdvanceUntilAsync(TimeSpan.FromMilliseconds(20), Ended(api, accepted.MessageId));
        var message = await http.WaitUntilEndedAsync(id, accepted.MessageId);
        var events = await servers.WaitForTerminalEventAsync(id, accepted.MessageId);

        Assert.Equal(MessageStatus.Failed, message.Status);
        Assert.Equal(FailureCodes.TotalTimeout, message.Error?.Code);
        Assert.NotEmpty(message.Content);
        Assert.Equal(message.Content, events.DeltaText());
        Assert.Equal(ChannelEventTypes.MessageFailed, events[^1].Type);
        Assert.Equal(FailureCodes.TotalTimeout, events[^1].DataString("code"));
        Assert.Equal(message.Content, events[^1].DataString("text"));
        Assert.InRange(advanced, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(29));
    }

    [Fact]
    public async Task A_pause_between_tokens_longer_than_InactivityTimeout_fails_with_inactivity_timeout()
    {
        // One token at once, the next a second later: the 300 ms inactivity timeout fires in between.
        var time = FakeClock.Now();
        await using var api = new ApiFactory(servers, new Dictionary<string, string?>
        {
            ["SimulatedModel:TokensPerSecond"] = "1",
            ["Generation:InactivityTimeout"] = "00:00:00.300",
        })
        { Time = time };
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();

        var accepted = await http.PostAcceptedAsync(id, "One word at a time");
        await time.AdvanceUntilAsync(TimeSpan.FromMilliseconds(50), Ended(api, accepted.MessageId));
        var message = await http.WaitUntilEndedAsync(id, accepted.MessageId);
        var events = await servers.WaitForTerminalEventAsync(id, accepted.MessageId);

        Assert.Equal(MessageStatus.Failed, message.Status);
        Assert.Equal(FailureCodes.InactivityTimeout, message.Error?.Code);
        Assert.NotEmpty(message.Content);
        Assert.Equal(message.Content, events.DeltaText());
        Assert.Equal(FailureCodes.InactivityTimeout, events[^1].DataString("code"));
        Assert.Equal(message.Content, events[^1].DataString("text"));
    }

    private static Func<bool> Ended(ApiFactory api, Guid messageId)
    {
        var registry = api.Services.GetRequiredService<GenerationRegistry>();
        return () => !registry.IsRunning(messageId);
    }
}
