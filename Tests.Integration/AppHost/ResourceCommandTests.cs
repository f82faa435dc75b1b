using AiStreaming.AppHost.Hosting;

namespace AiStreaming.Tests.AppHost;

/// <summary>Resource commands and notifications, shaped like Aspire.Hosting.Testing's, on a real Redis.</summary>
public sealed class ResourceCommandTests
{
    [Fact]
    public async Task Kill_and_start_a_replica_by_id_and_see_its_state_change()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await using var app = await RedisOnlyApp.StartAsync("commands", [], cts.Token);
        Assert.True(app.ResourceNotifications.TryGetCurrentState("redis-0", out var before));
        Assert.NotNull(before.Snapshot.ProcessId);

        Assert.True((await app.ResourceCommands.ExecuteCommandAsync("redis-0", KnownResourceCommands.KillCommand, cts.Token)).Success);
        Assert.True(app.ResourceNotifications.TryGetCurrentState("redis", out var killed));
        Assert.Equal(ResourceState.Killed, killed.Snapshot.State);
        Assert.Null(killed.Snapshot.ProcessId);

        Assert.True((await app.ResourceCommands.ExecuteCommandAsync("redis", KnownResourceCommands.StartCommand, cts.Token)).Success);
        Assert.True(app.ResourceNotifications.TryGetCurrentState("redis-0", out var started));
        Assert.Equal(ResourceState.Healthy, started.Snapshot.State);
        Assert.Equal(1, started.Snapshot.Restarts);
        Assert.Equal(before.Snapshot.Endpoint, started.Snapshot.Endpoint);

        var unknown = await app.ResourceCommands.ExecuteCommandAsync("redis-7", KnownResourceCommands.StopCommand, cts.Token);
        Assert.False(unknown.Success);
        Assert.Contains("redis-0", unknown.ErrorMessage, StringComparison.Ordinal);
    }
}
