using Microsoft.Extensions.Options;
using Npgsql;

namespace AiStreaming.Api.Generation;

/// <summary>
/// Renews the ownership leases of all the generations running in this process in one batch every
/// <see cref="GenerationOptions.LeaseRenewInterval"/> (one timer per process, on the injected clock), and stops those
/// it no longer owns (another process took them over, see <see cref="GenerationTakeover"/>): they end without writing.
/// Failed renewals are logged and retried at the next tick; with the defaults a lease survives three missed renewals.
/// </summary>
/// <param name="registry">Generations of this process.</param>
/// <param name="store">Generation persistence.</param>
/// <param name="time">Clock.</param>
/// <param name="options">Generation options.</param>
/// <param name="logger">Logger.</param>
internal sealed class LeaseRenewer(
    GenerationRegistry registry, GenerationStore store, TimeProvider time,
    IOptions<GenerationOptions> options, ILogger<LeaseRenewer> logger) : BackgroundService
{
    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lease = options.Value.LeaseDuration;
        using var timer = new PeriodicTimer(options.Value.LeaseRenewInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RenewAsync(lease, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Renews every running generation's lease once.</summary>
    /// <param name="lease">New lease length from now.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public async Task RenewAsync(TimeSpan lease, CancellationToken cancellationToken)
    {
        // One statement per owner id: the instance's own generations, plus one per run it took over (rare).
        foreach (var run in registry.Snapshot().GroupBy(g => g.Output.Run.OwnerId))
        {
            await RenewAsync(run.Key, [.. run.Select(g => g.MessageId)], lease, cancellationToken);
        }
    }

    private async Task RenewAsync(string ownerId, Guid[] ids, TimeSpan lease, CancellationToken cancellationToken)
    {
        try
        {
            var renewed = await store.RenewLeasesAsync(ids, ownerId, lease, cancellationToken);
            foreach (var id in ids.Where(id => !renewed.Contains(id)))
            {
                // Ended meanwhile (then the stop is a no-op), or swept: stop generating for nobody.
                if (registry.TryStop(id, StopReason.Lost))
                {
                    logger.OwnershipLost(id);
                }
            }
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            logger.LeaseRenewalFailed(ids.Length, ex.Message);
        }
    }
}
