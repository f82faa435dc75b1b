using AiStreaming.Api.Generation;
using AiStreaming.Channels;
using AiStreaming.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace AiStreaming.Tests.Api.Generation;

/// <summary>
/// Abandonment: a generation whose channel has no watcher (presence) for <c>Generation:AbandonAfter</c> ends
/// <c>message.cancelled</c> with reason <c>abandoned</c>; a watcher that returns within the grace keeps it alive. On a
/// fake clock: the Api, its simulated model and the presence expiry all run on it.
/// </summary>
[Collection(ServersCollection.Name)]
public class AbandonmentTests(ServersFixture servers)
{
    private static readonly Dictionary<string, string?> Settings = ApiFactory.Slow(
        60, ("Generation:AbandonAfter", "00:00:10"), ("Generation:AbandonCheckInterval", "00:00:01"), ("Generation:TotalTimeout", "00:10:00"),
        ("Generation:InactivityTimeout", "00:10:00"), ("Generation:LeaseDuration", "00:10:00"), ("Generation:CheckpointInterval", "00:05:00"));

    [Fact]
    public async Task A_reply_nobody_watches_for_AbandonAfter_ends_cancelled_with_reason_abandoned()
    {
        var time = FakeClock.Now();
        await using var api = new ApiFactory(servers, Settings) { Time = time };
        var http = api.CreateClient();
        var registry = api.Services.GetRequiredService<GenerationRegistry>();
        var id = await http.CreateConversationAsync();

        var accepted = await http.PostAcceptedAsync(id, "Nobody is listening");
        var advanced = await time.AdvanceUntilAsync(TimeSpan.FromMilliseconds(500), () => !registry.IsRunning(accepted.MessageId));

        var message = await http.GetMessageAsync(id, accepted.MessageId);
        Assert.Equal(MessageStatus.Cancelled, message.Status);
        Assert.InRange(advanced, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(15));
        var terminal = (await servers.WaitForTerminalEventAsync(id, accepted.MessageId))[^1];
        Assert.Equal(ChannelEventTypes.MessageCancelled, terminal.Type);
        Assert.Equal(CancelReasons.Abandoned, terminal.DataString("reason"));
        Assert.Equal(message.Content, terminal.DataString("text"));
    }

    [Fact]
    public async Task A_watcher_returning_within_the_grace_keeps_the_reply_alive()
    {
        var time = FakeClock.Now();
        await using var api = new ApiFactory(servers, Settings) { Time = time };
        var http = api.CreateClient();
        var registry = api.Services.GetRequiredService<GenerationRegistry>();
        var redis = api.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        var id = await http.CreateConversationAsync();
        var presence = ChannelName.ForConversation(id).PresenceKey;

        var accepted = await http.PostAcceptedAsync(id, "I will be back");
        await Advance(time, TimeSpan.FromSeconds(7));
        // A reload: the tab's client joins again for a few seconds (score = expiry in Unix ms on the Api's clock).
        await redis.SortedSetAddAsync(presence, "tab-1", time.GetUtcNow().AddSeconds(3).ToUnixTimeMilliseconds());
        await Advance(time, TimeSpan.FromSeconds(9));

        Assert.True(registry.IsRunning(accepted.MessageId), "the reply must still run: a watcher came back within the grace");
        await time.AdvanceUntilAsync(TimeSpan.FromMilliseconds(500), () => !registry.IsRunning(accepted.MessageId));
        Assert.Equal(MessageStatus.Cancelled, (await http.GetMessageAsync(id, accepted.MessageId)).Status);
    }

    private static async Task Advance(Microsoft.Extensions.Time.Testing.FakeTimeProvider time, TimeSpan by)
    {
        for (var done = TimeSpan.Zero; done < by; done += TimeSpan.FromMilliseconds(500))
        {
            time.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Delay(5);
        }
    }
}
