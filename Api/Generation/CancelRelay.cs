using AiStreaming.Channels;
using Polly;
using Polly.Registry;
using StackExchange.Redis;

namespace AiStreaming.Api.Generation;

/// <summary>
/// Cancels a generation wherever it runs (after davidfowl/aspire-ai-chat-demo's <c>RedisCancellationManager</c>): a
/// generation of this process is stopped directly; otherwise its message id is published on <see cref="Channel"/>,
/// which every Api instance subscribes to, and the instance that runs it stops it (the others ignore the id).
/// The subscription is retried on <see cref="ApiResilience.RedisSubscribe"/> until Redis answers.
/// </summary>
/// <param name="registry">Generations of this process.</param>
/// <param name="redis">Redis connection.</param>
/// <param name="pipelines">Resilience pipelines.</param>
/// <param name="logger">Logger.</param>
public sealed class CancelRelay(
    GenerationRegistry registry, IConnectionMultiplexer redis, ResiliencePipelineProvider<string> pipelines, ILogger<CancelRelay> logger)
    : BackgroundService
{
    /// <summary>Redis pub/sub channel of cancel requests; the message is the assistant message id (GUID, D format).</summary>
    public static readonly RedisChannel Channel = RedisChannel.Literal("ais:control:cancel");

    /// <summary>Cancels the generation of <paramref name="messageId"/> here or on the instance that runs it.</summary>
    /// <param name="messageId">Assistant message.</param>
    /// <exception cref="RedisException">The cancel could not be published (Redis unavailable).</exception>
    /// <exception cref="RedisTimeoutException">The cancel could not be published in time.</exception>
    public async Task RequestCancelAsync(Guid messageId)
    {
        if (registry.IsRunning(messageId))
        {
            registry.TryCancel(messageId);
            logger.CancelRequested(messageId, "local");
            return;
        }
        var receivers = await redis.GetSubscriber().PublishAsync(Channel, messageId.ToString("D"));
        logger.CancelRequested(messageId, $"published to {receivers} instance(s)");
    }

    /// <summary>Subscribes to <see cref="Channel"/>, retrying while Redis is unavailable.</summary>
    /// <param name="stoppingToken">Stops the retries.</param>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var first = true;
        try
        {
            await pipelines.GetPipeline(ApiResilience.RedisSubscribe).ExecuteAsync(async token =>
            {
                try
                {
                    await redis.GetSubscriber().SubscribeAsync(Channel, OnCancel);
                }
                catch (Exception ex) when (RedisFaults.IsUnavailable(ex) && first)
                {
                    first = false;
                    logger.CancelSubscriptionFailed(ex.Message);
                    throw;
                }
            }, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    // Runs on the Redis subscription queue: only signal, never wait here.
    private void OnCancel(RedisChannel channel, RedisValue value)
    {
        if (Guid.TryParse((string?)value, out var messageId) && registry.TryCancel(messageId))
        {
            logger.CancelledByControlMessage(messageId);
        }
    }
}
