using AiStreaming.Streamer.Delivery;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace AiStreaming.Streamer.Drain;

/// <summary>
/// Graceful drain of a streamer replica (docs/architecture.md, "Failure behaviour"). When the host is told to stop
/// (SIGTERM, Ctrl+C), readiness (<c>/health</c>, through <see cref="DrainHealthCheck"/>) turns unhealthy at once, the
/// replica keeps serving for <see cref="StreamerOptions.DrainDelay"/> so a load balancer probing readiness stops sending
/// it new connections, then every subscription ends with <c>resubscribe{shutdown}</c> (hub and SSE) and the host stops;
/// clients reconnect through the balancer to another replica and recover from their last offset.
/// </summary>
/// <remarks>
/// The drain runs inside <see cref="IHostApplicationLifetime.ApplicationStopping"/>, registered after the app started so
/// that it runs before the framework's own callbacks (they run last-registered first), e.g. SignalR's, which close every
/// connection: the stopping thread waits out the delay there. The host's shutdown timeout starts only afterwards.
/// </remarks>
internal sealed partial class ShutdownDrain(
    ChannelDispatcher dispatcher, IOptions<StreamerOptions> options, TimeProvider time, ILogger<ShutdownDrain> logger)
{
    private static readonly TimeSpan FlushWait = TimeSpan.FromSeconds(1);
    private volatile bool _draining;

    /// <summary>Whether the replica is draining (readiness reports unhealthy).</summary>
    public bool IsDraining => _draining;

    /// <summary>Hooks the drain into <paramref name="lifetime"/>'s stopping callbacks once the app has started.</summary>
    public void Attach(IHostApplicationLifetime lifetime) =>
        lifetime.ApplicationStarted.Register(() => lifetime.ApplicationStopping.Register(Run));

    /// <summary>Turns readiness unhealthy, waits <see cref="StreamerOptions.DrainDelay"/>, ends every subscription with <c>resubscribe{shutdown}</c>.</summary>
    public void Run()
    {
        if (_draining)
        {
            return;
        }
        _draining = true;
        var delay = options.Value.DrainDelay;
        Log.Draining(logger, dispatcher.ChannelCount, delay.TotalMilliseconds);
        if (delay > TimeSpan.Zero)
        {
            Task.Delay(delay, time).Wait();
        }
        dispatcher.DropAll(ResubscribeReasons.Shutdown);
        // Give the transports a moment to write the resubscribe frames before the framework closes connections.
        var deadline = time.GetTimestamp() + (long)(FlushWait.TotalSeconds * time.TimestampFrequency);
        while (dispatcher.ChannelCount > 0 && time.GetTimestamp() < deadline)
        {
            Task.Delay(TimeSpan.FromMilliseconds(20), time).Wait();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Information, "Draining: readiness unhealthy; {ChannelCount} channels' subscribers are told to resubscribe elsewhere in {DelayMs} ms")]
        public static partial void Draining(ILogger logger, int channelCount, double delayMs);
    }
}

/// <summary>Readiness check: unhealthy while the replica drains (<see cref="ShutdownDrain"/>), healthy otherwise.</summary>
internal sealed class DrainHealthCheck(ShutdownDrain drain) : IHealthCheck
{
    /// <inheritdoc/>
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(drain.IsDraining ? HealthCheckResult.Unhealthy("draining") : HealthCheckResult.Healthy());
}
