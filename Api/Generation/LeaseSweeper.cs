using AiStreaming.Api.Conversations;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AiStreaming.Api.Generation;

/// <summary>
/// Finds generations whose owner died: once at startup and every <see cref="GenerationOptions.SweepInterval"/> (one
/// timer per process, on the injected clock), streaming messages whose lease expired are claimed and continued here, or
/// ended when they cannot be (<see cref="GenerationTakeover"/>). This is how a reply of a killed or frozen Api goes on
/// while any Api runs. At most once every <see cref="PurgeInterval"/> a sweep also deletes <c>Idempotency-Key</c>
/// records older than <see cref="GenerationOptions.IdempotencyWindow"/> (an indexed delete).
/// </summary>
/// <param name="takeover">Claims and continues expired generations.</param>
/// <param name="dataSource">The Api's data source (purge of expired <c>Idempotency-Key</c>s).</param>
/// <param name="time">Clock.</param>
/// <param name="options">Generation options.</param>
/// <param name="logger">Logger.</param>
internal sealed class LeaseSweeper(
    GenerationTakeover takeover, NpgsqlDataSource dataSource, TimeProvider time, IOptions<GenerationOptions> options, ILogger<LeaseSweeper> logger)
    : BackgroundService
{
    /// <summary>Least time between two purges of expired <c>Idempotency-Key</c> records.</summary>
    public static readonly TimeSpan PurgeInterval = TimeSpan.FromMinutes(1);

    private long lastPurge;

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

    /// <summary>Takes over every expired lease now.</summary>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The number of messages claimed (continued or ended).</returns>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var total = 0;
        try
        {
            total = await takeover.TakeOverExpiredAsync(cancellationToken);
            if (total > 0)
            {
                logger.LeasesSwept(total);
            }
            if (lastPurge == 0 || time.GetElapsedTime(lastPurge) >= PurgeInterval)
            {
                await IdempotencyKeys.PurgeAsync(dataSource, options.Value.IdempotencyWindow, cancellationToken);
                lastPurge = time.GetTimestamp();
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            logger.SweepFailed(ex.Message);
        }
        return total;
    }
}
