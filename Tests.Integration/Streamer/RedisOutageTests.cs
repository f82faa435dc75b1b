using System.Diagnostics;
using System.Diagnostics.Metrics;
using AiStreaming.Channels;
using AiStreaming.Streamer;
using AiStreaming.Streamer.Delivery;
using AiStreaming.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AiStreaming.Tests.Streamer;

/// <summary>
/// Subscriptions across a Redis outage, against a Redis server of this test's own (killed and restarted on the same port
/// and data, append-only file fsynced on every write): subscribers hear <c>reconnecting</c> within 2 s, a subscription
/// opened during the outage starts with it, and when Redis is back every one continues with each offset exactly once.
/// </summary>
public sealed class RedisOutageTests : IAsyncLifetime
{
    private static readonly StreamerTelemetry Telemetry =
        new(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>());

    private OwnRedis _redis = null!;

    public async Task InitializeAsync() => _redis = await OwnRedis.StartNewAsync();

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task Subscribers_hear_reconnecting_within_2_s_and_continue_exactly_when_redis_returns()
    {
        await using var mux = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
        var options = Options.Create(new StreamerOptions());
        var dispatcher = new ChannelDispatcher(mux, Telemetry, NullLogger<ChannelDispatcher>.Instance);
        var history = new ChannelHistory(mux, TimeSpan.FromSeconds(1));
        using var outages = new RedisOutages(mux, dispatcher, history, options, Telemetry, TimeProvider.System, NullLogger<RedisOutages>.Instance);
        await outages.StartAsync(CancellationToken.None);
        var subscriptions = new SubscriptionOpener(dispatcher, history, outages, options, Telemetry, TimeProvider.System);
        var publisher = new ChannelPublisher(mux, new ChannelOptions());
        var channel = ChannelName.ForConversation(Guid.NewGuid());

        var first = await PublishAsync(publisher, channel, 1);
        await using var live = await subscriptions.OpenAsync(channel, null, null, CancellationToken.None);
        var liveFrames = Collect(live);
        await PublishAsync(publisher, channel, 2);
        await PublishAsync(publisher, channel, 3);
        await Eventually.UntilAsync(() => Offsets(liveFrames).Contains(3), TimeSpan.FromSeconds(10), "offsets 2 and 3 live");

        var outage = Stopwatch.StartNew();
        _redis.Kill();
        await Eventually.UntilAsync(() => Types(liveFrames).Contains(StreamerFrameTypes.Reconnecting), TimeSpan.FromSeconds(5), "reconnecting");
        Assert.True(outage.Elapsed < TimeSpan.FromSeconds(2), $"reconnecting after {outage.Elapsed.TotalMilliseconds:0} ms");
        var reconnecting = Snapshot(liveFrames).Single(e => e.Type == StreamerFrameTypes.Reconnecting);
        Assert.Equal("redis_unavailable", reconnecting.Data!.Value.GetProperty("reason").GetString());

        // Opened during the outage: one live only, one from offset 1 of the first epoch.
        await using var fresh = await subscriptions.OpenAsync(channel, null, null, CancellationToken.None);
        await using var resumed = await subscriptions.OpenAsync(channel, 1, first.Epoch, CancellationToken.None);
        var freshFrames = Collect(fresh);
        var resumedFrames = Collect(resumed);
        await Eventually.UntilAsync(() => Types(freshFrames).Count > 0 && Types(resumedFrames).Count > 0, TimeSpan.FromSeconds(5), "first frames");
        Assert.Equal(StreamerFrameTypes.Reconnecting, Types(freshFrames)[0]);
        Assert.Equal(StreamerFrameTypes.Reconnecting, Types(resumedFrames)[0]);

        await _redis.StartAsync();
        for (var i = 4; i <= 6; i++)
        {
            await PublishAsync(publisher, channel, i);
        }
        // The live-only subscription opened during the outage starts at the top it finds when Redis answers: offset 6
        // itself when 4..6 were published before it resumed, else it receives them live.
        bool FreshReached6() =>
            Snapshot(freshFrames).Any(e => e.Type == ChannelEventTypes.Subscribed && e.Offset == 6) || Offsets(freshFrames).Contains(6);
        try
        {
            await Eventually.UntilAsync(
                () => Offsets(liveFrames).Contains(6) && Offsets(resumedFrames).Contains(6) && FreshReached6(),
                TimeSpan.FromSeconds(20), "offset 6 at every subscriber");
        }
        catch (TimeoutException ex)
        {
            string Show(List<ChannelEvent> frames) => string.Join(", ", Snapshot(frames).Select(e => $"{e.Type}@{e.Epoch}:{e.Offset}"));
            throw new TimeoutException($"{ex.Message} live: [{Show(liveFrames)}]; fresh: [{Show(freshFrames)}]; resumed: [{Show(resumedFrames)}]");
        }

        // The live subscriber continues where it was: a new 'subscribed' (recovered) at offset 3, then 4..6, each once.
        Assert.Equal(["subscribed", "delta", "delta", "reconnecting", "subscribed", "delta", "delta", "delta"], Types(liveFrames));
        Assert.Equal([2L, 3, 4, 5, 6], Offsets(liveFrames));
        var again = Snapshot(liveFrames)[4];
        Assert.True(again.Data!.Value.GetProperty("recovered").GetBoolean());
        Assert.Equal((first.Epoch, 3L), (again.Epoch, again.Offset));
        // Opened during the outage from offset 1: recovered, 2..6 once.
        Assert.True(Snapshot(resumedFrames)[1].Data!.Value.GetProperty("recovered").GetBoolean());
        Assert.Equal([2L, 3, 4, 5, 6], Offsets(resumedFrames));
        // Opened during the outage live only: starts at the top it found, then each later offset once.
        var top = Snapshot(freshFrames)[1].Offset;
        Assert.Equal(Enumerable.Range((int)top + 1, 6 - (int)top).Select(i => (long)i), Offsets(freshFrames));
        await outages.StopAsync(CancellationToken.None);
    }

    private static async Task<ChannelPosition> PublishAsync(ChannelPublisher publisher, ChannelName channel, int i)
    {
        // Right after Redis returns the client may still be reconnecting: retry as the Api's outbox does.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await publisher.PublishAsync(channel, ChannelEventTypes.Delta, null, ChannelEvent.ToData(new { text = $"{i} " }));
            }
            catch (Exception ex) when (RedisFaults.IsUnavailable(ex) && attempt < 50)
            {
                await Task.Delay(200);
            }
        }
    }

    private static List<ChannelEvent> Collect(Subscription subscription)
    {
        var frames = new List<ChannelEvent>();
        _ = Task.Run(async () =>
        {
            await foreach (var e in subscription.Events.ReadAllAsync())
            {
                lock (frames)
                {
                    frames.Add(e);
                }
            }
        });
        return frames;
    }

    private static List<ChannelEvent> Snapshot(List<ChannelEvent> frames)
    {
        lock (frames)
        {
            return [.. frames];
        }
    }

    private static List<string> Types(List<ChannelEvent> frames) => [.. Snapshot(frames).Where(e => e.Offset > 0 || e.Type != ChannelEventTypes.Presence).Select(e => e.Type)];

    private static List<long> Offsets(List<ChannelEvent> frames) =>
        [.. Snapshot(frames).Where(e => e.Type == ChannelEventTypes.Delta).SelectMany(e => Enumerable.Range(0, (int)(e.Offset - (e.FromOffset ?? e.Offset)) + 1).Select(i => (e.FromOffset ?? e.Offset) + i))];
}
