using AiStreaming.Channels;

namespace AiStreaming.Api.Redis;

/// <summary>Registers Redis for the Api: the shared client integration and the channel services.</summary>
public static class RedisExtensions
{
    /// <summary>Name of the connection string (<c>ConnectionStrings:redis</c>), as Aspire's <c>AddRedis("redis")</c> injects it.</summary>
    public const string ConnectionName = "redis";

    /// <summary>
    /// Adds the Redis client (Aspire.StackExchange.Redis's <c>AddRedisClient("redis")</c>: multiplexer and <c>redis</c>
    /// readiness check, tuned by <see cref="RedisMultiplexerDefaults.Apply"/>) and the channel services
    /// (<c>AddChannels()</c>: options, publisher, history).
    /// </summary>
    /// <param name="builder">The application builder.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="InvalidOperationException"><c>ConnectionStrings:redis</c> is missing.</exception>
    public static IHostApplicationBuilder AddRedis(this IHostApplicationBuilder builder)
    {
        builder.AddRedisClient(ConnectionName, RedisMultiplexerDefaults.ConfigureSettings, RedisMultiplexerDefaults.Apply);
        return builder.AddChannels();
    }
}
