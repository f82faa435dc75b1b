using AiStreaming.Api.Conversations;
using AiStreaming.Api.Outbox;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AiStreaming.Api.Generation;

/// <summary>
/// Fails generations whose owner died: once at startup and every <see cref="GenerationOptions.SweepInterval"/>,
/// streaming messages whose lease expired become <c>failed</c> with <c>generation_lost</c> (checkpointed text kept)
/// and their <c>message.failed</c> events go through the outbox. This is how a message of a killed Api ends once any
/// Api runs again. Each sweep also deletes <c>Idempotency-Key</c> records older than
/// <see cref="GenerationOptions.IdempotencyWindow"/> (an indexed delete).
/// </summary>
/// <param name="store">Generation persistence.</param>
/// <param name="outbox">Outbox publisher.</param>
/// <param name="dataSource">The Api's data source (purge of expired <c>Idempotency-Key</c>s).</param>
/// <param name="metrics">Instruments.</param>
/// <param name="model">Model, for the metric tag.</param>
/// <param name="time">Clock.</param>
/// <param name="options">Generation options.</param>
/// <param name="logger">Logger.</param>
internal sealed class LeaseSweeper(
    GenerationStore store, OutboxPublisher outbox, NpgsqlDataSource dataSource, GenerationMetrics metrics, ChatModelInfo model, TimeProvider time,
    IOptions<GenerationOptions> options, ILogger<LeaseSweeper> logger) : BackgroundService
{
    /// <summary>The <c>message</c> of the failures this sweeper writes.</summary>
    public const string LostMessage = "The Api instance that owned the generation stopped before it finished.";

    private const int BatchSize = 100;

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SweepInterval, time);
        try
        {
            do
            {
                await SweepAsync(stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Fails every expired lease now.</summary>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The number of messages failed.</returns>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        try
        {
            long[] ids;
            do
            {
                ids = await store.FailExpiredLeasesAsync(LostMessage, BatchSize, cancellationToken);
                if (ids.Length == 0)
                {
                    break;
                }
                total += ids.Length;
                logger.LeasesSwept(ids.Length);
                metrics.Failed.Add(ids.Length, new("gen_ai.request.model", model.ModelId), new("code", FailureCodes.GenerationLost));
                await outbox.PublishAsync(ids, cancellationToken);
            }
            while (ids.Length == BatchSize);
            await IdempotencyKeys.PurgeAsync(dataSource, options.Value.IdempotencyWindow, cancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            logger.SweepFailed(ex.Message);
        }
        return total;
    }
}
