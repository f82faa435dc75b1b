using AiStreaming.Channels;
using AiStreaming.Tests.Infrastructure;

namespace AiStreaming.Tests.Channels;

/// <summary>
/// The publish fence against a real Redis server: once <see cref="ChannelFence"/> raised a message's fence, the publish
/// script refuses that message's events from earlier runs, in the same atomic step that reads the history.
/// </summary>
[Collection(ServersCollection.Name)]
public class PublishFenceTests(ServersFixture servers)
{
    private static readonly ChannelOptions Options = new() { HistoryMaxEntries = 1000 };

    [Fact]
    public async Task After_a_claim_the_earlier_run_is_refused_and_the_claim_read_everything_it_had_published()
    {
        var publisher = new ChannelPublisher(servers.Redis, Options);
        var fence = new ChannelFence(servers.Redis, Options);
        var channel = ChannelName.ForConversation(Guid.NewGuid());
        var message = Guid.NewGuid();
        var first = new PublishFence(message, 0);
        var started = await publisher.PublishAsync(channel, ChannelEventTypes.MessageStarted, message, ChannelEvent.ToData(new { }), first);
        await publisher.PublishAsync(channel, ChannelEventTypes.Delta, message, ChannelEvent.DeltaData("Hello"), first);

        var history = await fence.ClaimAsync(channel, new PublishFence(message, 1), started.Offset);

        Assert.Equal(started.Epoch, history.Epoch);
        Assert.Equal(2, history.TopOffset);
        Assert.Equal("Hello", history.Events[1].DeltaText);
        var refused = await Assert.ThrowsAsync<ChannelFencedException>(() =>
            publisher.PublishAsync(channel, ChannelEventTypes.Delta, message, ChannelEvent.DeltaData(" stale"), first));
        Assert.Equal(first, refused.Fence);
        Assert.Equal(2, (await servers.Redis.GetDatabase().StreamRangeAsync(channel.StreamKey)).Length);

        // The new run publishes at the next offset; events without a fence (the outbox's) and other messages' are not affected.
        Assert.Equal(3, (await publisher.PublishAsync(channel, ChannelEventTypes.Delta, message, ChannelEvent.DeltaData(", world"), new PublishFence(message, 1))).Offset);
        Assert.Equal(4, (await publisher.PublishAsync(channel, ChannelEventTypes.MessageCompleted, message, ChannelEvent.ToData(new { text = "Hello, world" }))).Offset);
        Assert.Equal(5, (await publisher.PublishAsync(channel, ChannelEventTypes.MessageStarted, Guid.NewGuid(), ChannelEvent.ToData(new { }), new PublishFence(Guid.NewGuid(), 0))).Offset);
    }

    [Fact]
    public async Task A_fence_is_never_lowered_and_holds_on_a_channel_redis_lost()
    {
        var publisher = new ChannelPublisher(servers.Redis, Options);
        var fence = new ChannelFence(servers.Redis, Options);
        var channel = ChannelName.ForConversation(Guid.NewGuid());
        var message = Guid.NewGuid();

        // No meta: nothing to read, yet the fence is set (and expires with the meta).
        var empty = await fence.ClaimAsync(channel, new PublishFence(message, 2), fromOffset: null);
        Assert.Null(empty.Epoch);
        Assert.True((await servers.Redis.GetDatabase().KeyTimeToLiveAsync(channel.MetaKey)) > TimeSpan.Zero);
        await fence.ClaimAsync(channel, new PublishFence(message, 1), fromOffset: null);

        await Assert.ThrowsAsync<ChannelFencedException>(() =>
            publisher.PublishAsync(channel, ChannelEventTypes.Delta, message, ChannelEvent.DeltaData("x"), new PublishFence(message, 1)));
        Assert.Equal(1, (await publisher.PublishAsync(channel, ChannelEventTypes.Delta, message, ChannelEvent.DeltaData("y"), new PublishFence(message, 2))).Offset);
    }
}
