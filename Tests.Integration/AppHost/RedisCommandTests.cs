using AiStreaming.AppHost.LocalServers;
using AiStreaming.Tests.Aspire;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using StackExchange.Redis;

namespace AiStreaming.Tests.AppHost;

/// <summary>The local Redis resource under Aspire's resource commands: no persistence, so a restart is an empty server.</summary>
public sealed class RedisCommandTests
{
    [Fact]
    public async Task Stop_and_start_through_the_resource_commands_bring_Redis_back_healthy_and_empty()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var builder = TestAppHost.CreateEmpty();
        builder.AddRedisServer("redis");
        await using var app = await builder.BuildAsync(cts.Token);
        await app.StartAsync(cts.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("redis", cts.Token);
        var id = Assert.Single(await app.ReplicaIdsAsync("redis", cts.Token));
        await using (var before = await ConnectAsync(app, cts.Token))
        {
            await before.GetDatabase().StringSetAsync("kept-across-restart", "no");
            Assert.Equal(1, await before.GetServers()[0].DatabaseSizeAsync());
        }

        var first = app.ServerProcessId(id);
        Assert.NotNull(first);

        await app.CommandAsync("redis", KnownResourceCommands.StopCommand, cts.Token);
        await app.WaitForReplicaAsync(id, s => s.State?.Text is { } state && KnownResourceStates.TerminalStates.Contains(state), cts.Token);
        Assert.Null(app.ServerProcessId(id));
        await app.CommandAsync("redis", KnownResourceCommands.StartCommand, cts.Token);
        // A new server process, healthy (the snapshot's timestamps come from two clocks, DCP's and the AppHost's: not compared).
        await app.WaitForReplicaAsync(id, s => ReplicaExtensions.IsHealthy(s) && app.ServerProcessId(id) is { } pid && pid != first, cts.Token);

        await using var after = await ConnectAsync(app, cts.Token);
        Assert.Equal(0, await after.GetServers()[0].DatabaseSizeAsync());
        Assert.False(await after.GetDatabase().KeyExistsAsync("kept-across-restart"));
    }

    private static async Task<ConnectionMultiplexer> ConnectAsync(DistributedApplication app, CancellationToken cancellationToken) =>
        await ConnectionMultiplexer.ConnectAsync((await app.GetConnectionStringAsync("redis", cancellationToken))! + ",allowAdmin=true");
}
