using AiStreaming.AppHost.LocalServers;
using AiStreaming.Tests.Aspire;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using StackExchange.Redis;

namespace AiStreaming.Tests.Infrastructure;

/// <summary>
/// Real Redis and PostgreSQL servers for integration tests, started once per collection by Aspire with the AppHost's
/// own resources (<c>AddRedisServer</c>, <c>AddPostgresServer</c>, the same code <c>dotnet run --project AppHost</c>
/// runs), in a fresh data folder.
/// </summary>
public sealed class ServersFixture : IAsyncLifetime
{
    private DistributedApplication? _app;

    /// <summary>The running servers.</summary>
    public DistributedApplication App => _app ?? throw new InvalidOperationException("Not started.");

    /// <summary>StackExchange.Redis configuration string of the Redis server.</summary>
    public string RedisConnectionString { get; private set; } = "";

    /// <summary>Npgsql connection string of the <c>messages</c> database (its owner role).</summary>
    public string MessagesConnectionString { get; private set; } = "";

    /// <summary>A connection to the Redis server.</summary>
    public ConnectionMultiplexer Redis { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var builder = TestAppHost.CreateEmpty();
        builder.AddRedisServer("redis");
        builder.AddPostgresServer("postgres").AddDatabase("messages");
        _app = await builder.BuildAsync(cts.Token);
        await _app.StartAsync(cts.Token);
        await _app.ResourceNotifications.WaitForResourceHealthyAsync("redis", cts.Token);
        await _app.ResourceNotifications.WaitForResourceHealthyAsync("messages", cts.Token);
        RedisConnectionString = (await _app.GetConnectionStringAsync("redis", cts.Token))!;
        MessagesConnectionString = (await _app.GetConnectionStringAsync("messages", cts.Token))!;
        Redis = await ConnectionMultiplexer.ConnectAsync(RedisConnectionString + ",abortConnect=false");
    }

    public async Task DisposeAsync()
    {
        if (Redis is not null)
        {
            await Redis.DisposeAsync();
        }
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
