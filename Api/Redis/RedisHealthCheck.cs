using AiStreaming.Channels;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace AiStreaming.Api.Redis;

/// <summary>Readiness check: Redis answers <c>PING</c>.</summary>
/// <param name="redis">The Api's Redis connection.</param>
internal sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
{
    /// <inheritdoc/>
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await redis.GetDatabase().PingAsync().WaitAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            return HealthCheckResult.Unhealthy("Redis is unreachable.", ex);
        }
    }
}
