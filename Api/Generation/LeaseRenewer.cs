using Microsoft.Extensions.Options;
using Npgsql;

namespace AiStreaming.Api.Generation;

/// <summary>
/// Renews the ownership leases of the generations running in this process every third of
/// <see cref="GenerationOptions.LeaseDuration"/> (on the injected clock), and stops those this instance no longer owns
/// (their lease was swept by <see cref="LeaseSweeper"/>): they end without writing. Failed renewals are logged and
/// retried at the next tick; a lease survives two missed renewals.
/// </summary>
/// <param name="registry">Generations of this process.</param>
/// <param name="store">Generation persistence.</param>
/// <param name="instance">This instance's id.</param>
/// <param name="time">Clock.</param>
/// <param name="options">Generation options.</param>
/// <param name="logger">Logger.</param>
internal sealed class LeaseRenewer(
    GenerationRegistry registry, GenerationStore store, ApiInstance instance, TimeProvider time,
    IOptions<GenerationOptions> options, ILogger<LeaseRenewer> logger) : BackgroundService
{
    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lease = options.Value.LeaseDuration;
        using var timer = new PeriodicTimer(lease / 3, time);
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
        var ids = registry.Snapshot().Select(g => g.MessageId).ToArray();
        if (ids.Length == 0)
        {
            return;
        }
        try
        {
            var renewed = await store.RenewLeasesAsync(ids, instance.Id, lease, cancellationToken);
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
