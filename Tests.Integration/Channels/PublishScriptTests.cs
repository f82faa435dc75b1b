using System.Text.Json;
using AiStreaming.Channels;
using AiStreaming.Tests.Infrastructure;
using StackExchange.Redis;

namespace AiStreaming.Tests.Channels;

/// <summary>The atomic publish script against a real Redis server.</summary>
[Collection(ServersCollection.Name)]
public class PublishScriptTests(ServersFixture servers)
{
    private static readonly ChannelOptions Options = new()
    {
        HistoryMaxEntries = 1000,
        HistoryTtl = TimeSpan.FromMinutes(30),
        CompletedHistoryTtl = TimeSpan.FromMinutes(2),
        MetaTtl = TimeSpan.FromHours(2),
    };

    private static ChannelName NewChannel() => ChannelName.ForConversation(Guid.NewGuid());

    private static JsonElement Text(string text) => ChannelEvent.ToData(new { text });

    [Fact]
    public async Task Offsets_start_at_one_and_increase_by_one_within_an_epoch()
    {
        var publisher = new ChannelPublisher(servers.Redis, Options);
        var channel = NewChannel();

        var positions = new List<ChannelPosition>();
        for (var i = 0; i < 5; i++)
        {
            positions.Add(await publisher.PublishAsync(channel, ChannelEventTypes.Delta, Guid.NewGuid(), Text($"t{i}")));
        }

        Assert.Equal([1L, 2, 3, 4, 5], positions.Select(p => p.Offset));
        Assert.Single(positions.Select(p => p.Epoch).Distinct());
        Assert.Matches("^[0-9a-f]{12}$", positions[0].Epoch);
    }

    [Fact]
    public async Task History_entries_use_the_offset_as_id_and_hold_the_full_event()
    {
        var publisher = new ChannelPublisher(servers.Redis, Options);
        var channel = NewChannel();
        var messageId = Guid.NewGuid();

        var position = await publisher.PublishAsync(channel, ChannelEventTypes.Delta, messageId, Text("hello \"world\"\n"));

        var entries = await servers.Redis.GetDatabase().StreamRangeAsync(channel.StreamKey);
        var entry = Assert.Single(entries);
        Assert.Equal("1-0", entry.Id.ToString());
        var e = ChannelEvent.Parse((string)entry["e"]!);
        Assert.Equal(position.Offset, e.Offset);
        Assert.Equal(position.Epoch, e.Epoch);
        Assert.Equal(channel.Value, e.Channel);
        Assert.Equal(messageId, e.MessageId);
        Assert.Equal("hello \"world\"\n", e.DeltaText);
    }

    [Fact]
    public async Task Live_subscribers_receive_the_same_json_as_history()
    {
        var publisher = new ChannelPublisher(servers.Redis, Options);
        var channel = NewChannel();
        var received = new TaskCompletionSource<string>();
        var queue = await servers.Redis.GetSubscriber().SubscribeAsync(channel.PubSubChannel);
        queue.OnMessage(m => received.TrySetResult((string)m.Message!));

        await publisher.PublishAsync(channel, ChannelEventTypes.MessageStarted, Guid.NewGuid(), ChannelEvent.ToData(new { role = "assistant" }));

        var live = await received.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var stored = (await servers.Redis.GetDatabase().StreamRangeAsync(channel.StreamKey)).Single()["e"];
        Assert.Equal((string)stored!, live);
        await queue.UnsubscribeAsync();
    }

    [Fact]
    public async Task With_sharded_pub_sub_live_events_go_to_sharded_subscribers_only()
    {
        var publisher = new ChannelPublisher(servers.Redis, new ChannelOptions { ShardedPubSub = true });
        var channel = NewChannel();
        var sharded = new TaskCompletionSource<string>();
        var classic = new TaskCompletionSource<string>();
        var shardedQueue = await servers.Redis.GetSubscriber().SubscribeAsync(channel.PubSubChannelFor(sharded: true));
        shardedQueue.OnMessage(m => sharded.TrySetResult((string)m.Message!));
        var classicQueue = await servers.Redis.GetSubscriber().SubscribeAsync(channel.PubSubChannel);
        classicQueue.OnMessage(m => classic.TrySetResult((string)m.Message!));

        await publisher.PublishAsync(channel, ChannelEventTypes.MessageStarted, Guid.NewGuid(), ChannelEvent.ToData(new { role = "assistant" }));
        await ChannelPublisher.PublishEphemeralAsync(servers.Redis.GetSubscriber(), channel, ChannelEventTypes.Presence, ChannelEvent.ToData(new { count = 1 }), sharded: true);

        var live = await sharded.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var stored = (await servers.Redis.GetDatabase().StreamRangeAsync(channel.StreamKey)).Single()["e"];
        Assert.Equal((string)stored!, live);
        await Task.Delay(200);
        Assert.False(classic.Task.IsCompleted, "a sharded publish reached a classic subscriber");
        await shardedQueue.UnsubscribeAsync();
        await classicQueue.UnsubscribeAsync();
    }

    [Fact]
    public async Task Concurrent_publishers_get_unique_contiguous_offsets()
    {
        var publisher = new ChannelPublisher(servers.Redis, Options);
        var channel = NewChannel();

        var positions = await Task.WhenAll(Enumerable.Range(0, 200)
            .Select(i => publisher.PublishAsync(channel, ChannelEventTypes.Delta, Guid.NewGuid(), Text($"{i}"))));

        Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), positions.Select(p => p.Offset).Order());
        var ids = (await servers.Redis.GetDatabase().StreamRangeAsync(channel.StreamKey)).Select(e => e.Id.ToString());
        Assert.Equal(Enumerable.Range(1, 200).Select(i => $"{i}-0"), ids);
    }

    [Fact]
    public async Task Lost_meta_starts_a_new_epoch_from_offset_one_and_drops_stale_history()
    {
        var publisher = new ChannelPublisher(servers.Redis, Options);
        var channel = NewChannel();
        var first = await publisher.PublishAsync(channel, ChannelEventTypes.Delta, null, Text("a"));
        await publisher.PublishAsync(channel, ChannelEventTypes.Delta, null, Text("b"));

        await servers.Redis.GetDatabase().KeyDeleteAsync(channel.MetaKey); // as if it expired or Redis lost it
        var next = await publisher.PublishAsync(channel, ChannelEventTypes.Delta, null, Text("c"));

        Assert.NotEqual(first.Epoch, next.Epoch);
        Assert.Equal(1, next.Offset);
        var history = await new ChannelHistory(servers.Redis, TimeSpan.FromSeconds(5)).ReadAsync(channel, 0, 100);
        Assert.Equal(next.Epoch, history.Epoch);
        Assert.Equal(["c"], history.Events.Select(e => e.DeltaText));
    }

    [Fact]
    public async Task History_and_meta_expire_after_the_configured_ttls()
    {
        var publisher = new ChannelPublisher(servers.Redis, Options);
        var channel = NewChannel();
        var db = servers.Redis.GetDatabase();

        await publisher.PublishAsync(channel, ChannelEventTypes.Delta, null, Text("a"));
        var streamingTtl = await db.KeyTimeToLiveAsync(channel.StreamKey);
        await publisher.PublishAsync(channel, ChannelEventTypes.MessageCompleted, null, Text("a"));
        var completedTtl = await db.KeyTimeToLiveAsync(channel.StreamKey);
        var metaTtl = await db.KeyTimeToLiveAsync(channel.MetaKey);

        Assert.InRange(streamingTtl!.Value, TimeSpan.FromMinutes(29), TimeSpan.FromMinutes(30));
        Assert.InRange(completedTtl!.Value, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2));
        Assert.InRange(metaTtl!.Value, TimeSpan.FromMinutes(119), TimeSpan.FromHours(2));
    }

    [Fact]
    public async Task Trimmed_history_is_reported_as_a_gap_and_recent_positions_still_recover()
    {
        var publisher = new ChannelPublisher(servers.Redis, new ChannelOptions { HistoryMaxEntries = 10 });
        var channel = NewChannel();
        ChannelPosition last = default;
        for (var i = 0; i < 400; i++)
        {
            last = await publisher.PublishAsync(channel, ChannelEventTypes.Delta, null, Text($"{i}"));
        }
        var history = new ChannelHistory(servers.Redis, TimeSpan.FromSeconds(5));

        var fromStart = Recovery.Plan(0, last.Epoch, await history.ReadAsync(channel, 0, 1000));
        var recent = Recovery.Plan(last.Offset - 5, last.Epoch, await history.ReadAsync(channel, last.Offset - 5, 1000));

        Assert.False(fromStart.Recovered);
        Assert.Equal(400, fromStart.Offset);
        Assert.True(recent.Recovered);
        Assert.Equal([396L, 397, 398, 399, 400], recent.Replay.Select(e => e.Offset));
        Assert.True(await servers.Redis.GetDatabase().StreamLengthAsync(channel.StreamKey) < 400);
    }
}
