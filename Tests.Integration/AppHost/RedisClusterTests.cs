using AiStreaming.AppHost.LocalServers;
using AiStreaming.Tests.Aspire;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using StackExchange.Redis;

namespace AiStreaming.Tests.AppHost;

/// <summary>
/// The local Redis resource's cluster mode (<c>Redis:Cluster=true</c> or <c>AISTREAMING_REDIS_CLUSTER=1</c>): three
/// masters on loopback with one password, joined by the <c>redis-cluster-create</c> resource, healthy once every slot is served.
/// </summary>
public sealed class RedisClusterTests
{
    [Fact]
    public async Task Cluster_mode_forms_three_masters_covering_every_slot_and_serves_a_hash_tagged_channel()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var builder = TestAppHost.CreateEmpty("--Redis:Cluster=true");
        builder.AddRedisServer("redis");
        await using var app = await builder.BuildAsync(cts.Token);
        await app.StartAsync(cts.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("redis", cts.Token);

        var create = await app.ResourceNotifications.WaitForResourceAsync(
            "redis-cluster-create", e => e.Snapshot.State?.Text is { } state && KnownResourceStates.TerminalStates.Contains(state), cts.Token);
        Assert.Equal(0, create.Snapshot.ExitCode);
        var connectionString = (await app.GetConnectionStringAsync("redis", cts.Token))!;
        var options = ConfigurationOptions.Parse(connectionString);
        Assert.Equal(3, options.EndPoints.Count);
        Assert.False(string.IsNullOrEmpty(options.Password));

        await using var redis = await ConnectionMultiplexer.ConnectAsync(options);
        var masters = redis.GetServers().Where(s => !s.IsReplica).ToList();
        Assert.Equal(3, masters.Count);
        foreach (var master in masters)
        {
            Assert.Equal(ServerType.Cluster, master.ServerType);
            var info = ((string?)await master.ExecuteAsync("CLUSTER", "INFO"))!;
            Assert.Contains("cluster_state:ok", info, StringComparison.Ordinal);
            Assert.Contains("cluster_slots_assigned:16384", info, StringComparison.Ordinal);
            Assert.Contains("cluster_slots_ok:16384", info, StringComparison.Ordinal);
            Assert.Contains("cluster_known_nodes:3", info, StringComparison.Ordinal);
        }

        var channel = $"conv:{Guid.NewGuid():D}";
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal($"ais:{{{channel}}}"), (_, value) => received.TrySetResult(value!));
        Assert.False((await redis.GetDatabase().StreamAddAsync($"ais:{{{channel}}}:stream", "payload", "hello")).IsNull);
        Assert.Equal(1, await redis.GetDatabase().StreamLengthAsync($"ais:{{{channel}}}:stream"));
        await redis.GetDatabase().PublishAsync(RedisChannel.Literal($"ais:{{{channel}}}"), "hello");
        Assert.Equal("hello", await received.Task.WaitAsync(cts.Token));
    }
}
