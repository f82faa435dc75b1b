using AiStreaming.Api.Generation;
using AiStreaming.Channels;
using AiStreaming.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AiStreaming.Tests.Api.Generation;

/// <summary>
/// Takeover between two in-memory Api instances on one Redis and one PostgreSQL: when a reply's lease lapses another
/// instance claims it, continues it at the next offset after <c>message.resumed</c>, and the run it took the reply from
/// (a process that froze, as under SIGSTOP, and then thawed) can neither publish nor store it any more.
/// </summary>
[Collection(ServersCollection.Name)]
public class TakeoverTests(ServersFixture servers)
{
    private static readonly TimeSpan ReplyPatience = TimeSpan.FromSeconds(30);

    // The owner renews and checkpoints rarely, so nothing it does puts the lease back once the test expires it.
    private static readonly (string, string?)[] FrozenOwner =
    [
        ("Generation:LeaseDuration", "00:01:00"), ("Generation:LeaseRenewInterval", "00:00:30"),
        ("Generation:CheckpointInterval", "00:00:30"), ("Generation:SweepInterval", "01:00:00"),
    ];

    [Fact]
    public async Task A_thawed_owner_whose_reply_was_taken_over_can_no_longer_publish_or_store_it_and_the_reply_completes_once()
    {
        await using var owner = new ApiFactory(servers, ApiFactory.Slow(3, FrozenOwner));
        await using var survivor = new ApiFactory(servers, ApiFactory.Slow(3, ("Generation:SweepInterval", "01:00:00")));
        var http = owner.CreateClient();
        survivor.CreateClient();
        var id = await http.CreateConversationAsync();
        var accepted = await http.PostAcceptedAsync(id, "Keep going while your owner is frozen");
        var messageId = accepted.MessageId;
        await servers.WaitForDeltasAsync(id, messageId, 5);

        // The owner froze past its lease: the survivor's sweep claims the reply.
        await ExpireLeaseAsync(messageId);
        Assert.Equal(1, await Sweeper(survivor).SweepAsync(CancellationToken.None));

        // The owner thaws and goes on streaming: its next publish is refused and its run stops without writing.
        var ownerRuns = owner.Services.GetRequiredService<GenerationRegistry>();
        await Eventually.UntilAsync(() => !ownerRuns.IsRunning(messageId), ReplyPatience, "the owner's run to stop");
        var ownerId = owner.Services.GetRequiredService<ApiInstance>().Id;
        var channel = ChannelName.ForConversation(id);
        await Assert.ThrowsAsync<ChannelFencedException>(() => owner.Services.GetRequiredService<ChannelPublisher>()
            .PublishAsync(channel, ChannelEventTypes.Delta, messageId, ChannelEvent.DeltaData(" stale"), new PublishFence(messageId, 0)));
        var ownerStore = owner.Services.GetRequiredService<GenerationStore>();
        Assert.False(await ownerStore.CheckpointAsync(messageId, ownerId, "stale", TimeSpan.FromMinutes(1), CancellationToken.None));
        Assert.Null(await ownerStore.FinishAsync(messageId, ownerId, MessageOutcome.Completed, "stale", 1, [], CancellationToken.None));

        var events = await WaitForEndAsync(id, messageId);
        var message = await http.GetMessageAsync(id, messageId);
        Assert.Equal(MessageStatus.Completed, message.Status);
        AssertContiguous(events);
        var resumed = Assert.Single(events, e => e.Type == ChannelEventTypes.MessageResumed);
        Assert.Equal(1, resumed.Data!.Value.GetProperty("takeover").GetInt32());
        var before = events.TakeWhile(e => e.Offset < resumed.Offset).DeltaText();
        Assert.Equal(before.Length, resumed.Data.Value.GetProperty("textLength").GetInt32());
        // Every delta once: their concatenation is the stored text and the terminal event's, and it continues what
        // was streamed before the takeover.
        Assert.Equal(message.Content, events.DeltaText());
        Assert.StartsWith(before, message.Content);
        Assert.True(message.Content.Length > before.Length);
        var terminal = Assert.Single(events, e => ChannelEventTypes.IsTerminal(e.Type));
        Assert.Equal(ChannelEventTypes.MessageCompleted, terminal.Type);
        Assert.Equal(message.Content, terminal.DataString("text"));
        Assert.Equal(1, await servers.ScalarAsync<int>("SELECT takeovers FROM messages WHERE id = @id", ("id", messageId)));
    }

    [Fact]
    public async Task The_other_instances_sweep_takes_over_an_expired_lease_within_its_sweep_interval()
    {
        await using var owner = new ApiFactory(servers, ApiFactory.Slow(3, FrozenOwner));
        await using var survivor = new ApiFactory(servers, ApiFactory.Slow(3));
        var http = owner.CreateClient();
        survivor.CreateClient();
        var id = await http.CreateConversationAsync();
        var messageId = (await http.PostAcceptedAsync(id, "Be taken over by the sweep")).MessageId;
        await servers.WaitForDeltasAsync(id, messageId, 3);

        await ExpireLeaseAsync(messageId);
        var survivorRuns = survivor.Services.GetRequiredService<GenerationRegistry>();
        await Eventually.UntilAsync(() => survivorRuns.IsRunning(messageId), TimeSpan.FromSeconds(3), "the survivor's periodic sweep to take the reply over");
        var events = await WaitForEndAsync(id, messageId);
        Assert.Single(events, e => e.Type == ChannelEventTypes.MessageResumed);
        Assert.Equal(ChannelEventTypes.MessageCompleted, Assert.Single(events, e => ChannelEventTypes.IsTerminal(e.Type)).Type);
    }

    [Fact]
    public async Task Past_the_takeover_limit_a_reply_fails_generation_lost_with_everything_streamed_at_the_next_sweep_tick()
    {
        var time = FakeClock.Now();
        await using var owner = new ApiFactory(servers, ApiFactory.Slow(3, FrozenOwner));
        await using var survivor = new ApiFactory(servers, new Dictionary<string, string?>
        {
            ["Generation:SweepInterval"] = "00:00:05",
            ["Generation:MaxTakeovers"] = "0",
        }) { Time = time };
        var http = owner.CreateClient();
        survivor.CreateClient();
        var id = await http.CreateConversationAsync();
        var messageId = (await http.PostAcceptedAsync(id, "Stream, then lose your owner for good")).MessageId;
        await servers.WaitForDeltasAsync(id, messageId, 5);

        await ExpireLeaseAsync(messageId);
        // The survivor's sweep runs on its fake clock: nothing happens until the next tick.
        Assert.Equal(MessageStatus.Streaming, (await http.GetMessageAsync(id, messageId)).Status);
        time.Advance(TimeSpan.FromSeconds(5));

        var events = await WaitForEndAsync(id, messageId);
        var message = await http.GetMessageAsync(id, messageId);
        Assert.Equal(MessageStatus.Failed, message.Status);
        Assert.Equal(FailureCodes.GenerationLost, message.Error?.Code);
        Assert.Equal(GenerationTakeover.LostMessage, message.Error?.Message);
        AssertContiguous(events);
        Assert.DoesNotContain(events, e => e.Type == ChannelEventTypes.MessageResumed);
        // Not the checkpoint (none was written): every delta that reached the channel.
        var streamed = events.DeltaText();
        Assert.NotEmpty(streamed);
        Assert.Equal(streamed, message.Content);
        Assert.Equal(streamed, Assert.Single(events, e => ChannelEventTypes.IsTerminal(e.Type)).DataString("text"));
    }

    private Task<int> ExpireLeaseAsync(Guid messageId) =>
        servers.ExecuteAsync("UPDATE messages SET lease_expires_at = now() - interval '1 second' WHERE id = @id", ("id", messageId));

    private async Task<IReadOnlyList<ChannelEvent>> WaitForEndAsync(Guid conversationId, Guid messageId)
    {
        IReadOnlyList<ChannelEvent> events = [];
        await Eventually.UntilAsync(
            async () =>
            {
                events = [.. (await servers.ReadChannelAsync(conversationId)).Where(e => e.MessageId == messageId)];
                return events.Any(e => ChannelEventTypes.IsTerminal(e.Type));
            },
            ReplyPatience, $"the end of message {messageId}");
        return events;
    }

    private static void AssertContiguous(IReadOnlyList<ChannelEvent> events) =>
        Assert.Equal(Enumerable.Range((int)events[0].Offset, events.Count).Select(o => (long)o), events.Select(e => e.Offset));

    private static LeaseSweeper Sweeper(ApiFactory api) =>
        api.Services.GetServices<IHostedService>().OfType<LeaseSweeper>().Single();
}
