using AiStreaming.AppHost.Hosting;
using StackExchange.Redis;

namespace AiStreaming.Tests.Infrastructure;

/// <summary>
/// Real Redis and PostgreSQL servers for integration tests, started once per collection through the AppHost library
/// (the same code that runs them for <c>dotnet run --project AppHost</c>), on free loopback ports with a temporary
/// data root that is removed afterwards.
/// </summary>
public sealed class ServersFixture : IAsyncLifetime
{
    private DistributedApplication? _app;

    /// <summary>The running servers.</summary>
    public DistributedApplication App => _app ?? throw new InvalidOperationException("Not started.");

    /// <summary>StackExchange.Redis configuration string of the Redis server.</summary>
    public string RedisConnectionString { get; private set; } = "";

    /// <summary>Npgsql connection string of the <c>messages</c> database.</summary>
    public string MessagesConnectionString { get; private set; } = "";

    /// <summary>A connection to the Redis server.</summary>
    public ConnectionMultiplexer Redis { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = DistributedApplication.CreateBuilder(new DistributedApplicationOptions
        {
            DashboardEnabled = false,
            // A fresh folder the 'postgres' user can reach wherever the repository lives, removed afterwards.
            DataRoot = Path.Combine(Path.GetTempPath(), $"aistreaming-servers-{Guid.NewGuid():N}"),
            DeleteDataRootOnDispose = true,
        });
        builder.AddRedis("redis");
        builder.AddPostgres("postgres").AddDatabase("messages");
        _app = await builder.BuildAsync();
        await _app.StartAsync();
        RedisConnectionString = (await _app.GetConnectionStringAsync("redis"))!;
        MessagesConnectionString = (await _app.GetConnectionStringAsync("messages"))!;
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
