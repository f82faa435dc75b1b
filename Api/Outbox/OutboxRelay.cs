using Microsoft.Extensions.Options;
using Npgsql;

namespace AiStreaming.Api.Outbox;

/// <summary>
/// Publishes outbox rows their writer could not publish (Redis down, process stopped after commit), oldest first,
/// every <see cref="OutboxOptions.PollInterval"/>, and purges published rows after
/// <see cref="OutboxOptions.RetainPublished"/>. A Redis outage therefore only delays terminal events.
/// </summary>
/// <param name="outbox">Outbox publisher.</param>
/// <param name="time">Clock of the poll and purge intervals.</param>
/// <param name="options">Relay settings.</param>
/// <param name="logger">Logger.</param>
internal sealed class OutboxRelay(OutboxPublisher outbox, TimeProvider time, IOptions<OutboxOptions> options, ILogger<OutboxRelay> logger) : BackgroundService
{
    private static readonly TimeSpan PurgeEvery = TimeSpan.FromMinutes(5);

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        using var timer = new PeriodicTimer(settings.PollInterval, time);
        var failing = false;
        var nextPurge = time.GetUtcNow();
        try
        {
            do
            {
                try
                {
                    OutboxBatchResult result;
                    do
                    {
                        result = await outbox.RelayAsync(settings.BatchSize, stoppingToken);
                        if (result.Published > 0)
                        {
                            logger.OutboxRelayed(result.Published);
                        }
                    }
                    while (result.Published == settings.BatchSize && result.Error is null);

                    if (result.Error is not null && !failing)
                    {
                        logger.OutboxRelayFailing(result.Error.Message);
                    }
                    else if (result.Error is null && failing)
                    {
                        logger.OutboxRelayRecovered();
                    }
                    failing = result.Error is not null;

                    if (time.GetUtcNow() >= nextPurge)
                    {
                        nextPurge = time.GetUtcNow() + PurgeEvery;
                        await outbox.PurgeAsync(settings.RetainPublished, stoppingToken);
                    }
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
                {
                    if (!failing)
                    {
                        logger.OutboxRelayFailing(ex.Message);
                    }
                    failing = true;
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
