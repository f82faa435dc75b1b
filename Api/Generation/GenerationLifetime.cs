using Microsoft.Extensions.Options;

namespace AiStreaming.Api.Generation;

/// <summary>
/// Start and graceful drain of the generation feature. At start it logs which model runs. On shutdown (SIGTERM) it
/// stops taking new generations at once (<see cref="IHostApplicationLifetime.ApplicationStopping"/>: posts answer
/// 503 so the caller retries on another replica), lets running generations finish for up to
/// <see cref="GenerationOptions.DrainTimeout"/>, then stops the rest: they end <c>failed</c> (<c>generation_lost</c>)
/// with their partial text. Registered after the lease renewer and the cancel relay, so it stops before them: leases
/// stay renewed and cancels keep arriving while it drains.
/// </summary>
/// <param name="registry">Generations of this process.</param>
/// <param name="model">Which model runs.</param>
/// <param name="lifetime">Application lifetime.</param>
/// <param name="time">Clock.</param>
/// <param name="options">Generation options.</param>
/// <param name="logger">Logger.</param>
internal sealed class GenerationLifetime(
    GenerationRegistry registry, ChatModelInfo model, IHostApplicationLifetime lifetime, TimeProvider time,
    IOptions<GenerationOptions> options, ILogger<GenerationLifetime> logger) : IHostedService
{
    /// <summary>How long stopped generations get to write their end after the drain timeout.</summary>
    public static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (model.IsSimulated)
        {
            logger.UsingSimulatedModel();
        }
        else
        {
            logger.UsingModel(model.ModelId, model.Endpoint!);
        }
        lifetime.ApplicationStopping.Register(registry.StopAccepting);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        registry.StopAccepting();
        if (registry.Count == 0)
        {
            return;
        }
        logger.Draining(registry.Count, options.Value.DrainTimeout);
        if (await registry.WaitForAllAsync(options.Value.DrainTimeout, time, cancellationToken))
        {
            return;
        }
        foreach (var generation in registry.Snapshot())
        {
            generation.Stop(StopReason.Shutdown);
        }
        await registry.WaitForAllAsync(StopGrace, time, CancellationToken.None);
    }
}
