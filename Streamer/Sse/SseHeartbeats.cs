using System.Collections.Concurrent;
using AiStreaming.Streamer.Delivery;
using Microsoft.Extensions.Options;

namespace AiStreaming.Streamer.Sse;

/// <summary>
/// One timer per node for every SSE stream's heartbeat: every <see cref="StreamerOptions.SseHeartbeatInterval"/> it asks
/// each open stream's buffer for a heartbeat, which the stream writes only if it is idle. (A timer per connection
/// would cost a timer and an allocation per event; this costs one tick per interval.)
/// </summary>
internal sealed class SseHeartbeats(IOptions<StreamerOptions> options, TimeProvider time) : BackgroundService
{
    private readonly ConcurrentDictionary<OutgoingFrames, byte> _streams = new();

    /// <summary>Adds a stream's buffer; dispose the result to remove it.</summary>
    /// <param name="buffer">The stream's buffer.</param>
    public IDisposable Add(OutgoingFrames buffer)
    {
        _streams.TryAdd(buffer, 0);
        return new Registration(this, buffer);
    }

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SseHeartbeatInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var buffer in _streams.Keys)
                {
                    buffer.RequestHeartbeat();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private sealed class Registration(SseHeartbeats owner, OutgoingFrames buffer) : IDisposable
    {
        public void Dispose() => owner._streams.TryRemove(buffer, out _);
    }
}
