using AiStreaming.Tests.Infrastructure;

namespace AiStreaming.Tests.Streamer;

/// <summary>
/// Base of tests that run the streamer in memory (<see cref="StreamerFactory"/>) against a Redis server of each test's
/// own, which the test may kill and start again (<see cref="Redis"/>): a new pair per test.
/// </summary>
public abstract class StreamerOnOwnRedisTests : IAsyncLifetime
{
    private OwnRedis? _redis;
    private StreamerFactory? _factory;

    /// <summary>This test's Redis server.</summary>
    private protected OwnRedis Redis => _redis ?? throw new InvalidOperationException("Not started.");

    /// <summary>The streamer, connected to <see cref="Redis"/>.</summary>
    private protected StreamerFactory Factory => _factory ?? throw new InvalidOperationException("Not started.");

    public async Task InitializeAsync()
    {
        _redis = await OwnRedis.StartNewAsync();
        _factory = new StreamerFactory(_redis.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }
}
