using AiStreaming.AppHost.Hosting;
using StackExchange.Redis;

namespace AiStreaming.Tests.AppHost;

/// <summary>
/// The AppHost library's Redis Cluster mode (<c>Redis:Cluster=true</c> or <c>AISTREAMING_REDIS_CLUSTER=1</c>): three masters on
/// loopback with the single server's password, slots assigned by <c>redis-cli --cluster create</c>.
/// </summary>
public sealed class RedisClusterTests
{
    [Fact]
    public async Task The_cluster_starts_with_three_masters_and_serves_XADD_and_PUBLISH_on_a_hash_tagged_channel()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await using var app = await RedisOnlyApp.StartAsync("cluster", ["--Redis:Cluster=true"], cts.Token);

        var connectionString = (await app.GetConnectionStringAsync("redis", cts.Token))!;
        var options = ConfigurationOptions.Parse(connectionString);
        Assert.Equal(3, options.EndPoints.Count);
        Assert.False(string.IsNullOrEmpty(options.Password));

        await using var redis = await ConnectionMultiplexer.ConnectAsync(options);
        var masters = redis.GetServers().Where(s => !s.IsReplica).ToList();
        Assert.Equal(3, masters.Count);
        Assert.All(masters, s => Assert.Equal(ServerType.Cluster, s.ServerType));

        var channel = $"conv:{Guid.NewGuid():D}";
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var subscriber = redis.GetSubscriber();
        await subscriber.SubscribeAsync(RedisChannel.Literal($"ais:{{{channel}}}"), (_, value) => received.TrySetResult(value!));
        var id = await redis.GetDatabase().StreamAddAsync($"ais:{{{channel}}}:stream", "payload", "hello");
        Assert.False(id.IsNull);
        Assert.Equal(1, await redis.GetDatabase().StreamLengthAsync($"ais:{{{channel}}}:stream"));
        await redis.GetDatabase().PublishAsync(RedisChannel.Literal($"ais:{{{channel}}}"), "hello");
        Assert.Equal("hello", await received.Task.WaitAsync(cts.Token));
    }
}
