using System.Collections.Concurrent;
using System.Collections.Immutable;
using AiStreaming.Channels;
using StackExchange.Redis;

namespace AiStreaming.Streamer.Channels;

/// <summary>
/// Holds one Redis pub/sub subscription per channel that this process's clients watch, and fans each live event
/// out to the local subscribers. Token delivery deliberately bypasses SignalR groups: through the Redis backplane
/// every group send would cross Redis again (DESIGN.md, "Facts that shape this design").
/// </summary>
/// <remarks>
/// StackExchange.Redis runs a <see cref="ChannelMessageQueue"/> handler for one message at a time, in publish order;
/// the handler parses the event once and hands it to each subscriber's bounded buffer without awaiting.
/// </remarks>
internal sealed partial class ChannelDispatcher : IDisposable
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new();
    private readonly IConnectionMultiplexer _redis;
    private readonly StreamerTelemetry _telemetry;
    private readonly ILogger<ChannelDispatcher> _logger;

    public ChannelDispatcher(IConnectionMultiplexer redis, StreamerTelemetry telemetry, ILogger<ChannelDispatcher> logger)
    {
        _redis = redis;
        _telemetry = telemetry;
        _logger = logger;
        _redis.ConnectionRestored += OnConnectionRestored;
    }

    /// <summary>Channels with at least one local subscriber.</summary>
    public int ChannelCount => _entries.Count;

    /// <summary>
    /// Registers <paramref name="subscriber"/>; returns once the Redis subscription for its channel is active, so
    /// every event published from then on reaches the subscriber.
    /// </summary>
    /// <returns>A handle that unregisters the subscriber when disposed.</returns>
    /// <exception cref="RedisException">Redis is unreachable.</exception>
    public async Task<IAsyncDisposable> AddAsync(ChannelSubscriber subscriber, CancellationToken cancellationToken)
    {
        var key = subscriber.Channel.Value;
        while (true)
        {
            var entry = _entries.GetOrAdd(key, static (k, self) => new Entry(self, ChannelName.Parse(k)), this);
            await entry.Gate.WaitAsync(cancellationToken);
            try
            {
                if (entry.Removed)
                {
                    continue; // lost a race with the last subscriber leaving: take a fresh entry
                }
                if (entry.Queue is null)
                {
                    var queue = await _redis.GetSubscriber().SubscribeAsync(entry.Channel.PubSubChannel);
                    queue.OnMessage(entry.OnMessage);
                    entry.Queue = queue;
                }
                entry.Subscribers = entry.Subscribers.Add(subscriber);
                return new Registration(entry, subscriber);
            }
            finally
            {
                entry.Gate.Release();
            }
        }
    }

    /// <summary>Ends every local subscription with a <c>resubscribe</c> frame (e.g. on shutdown).</summary>
    public void DropAll(string reason)
    {
        foreach (var entry in _entries.Values)
        {
            foreach (var subscriber in entry.Subscribers)
            {
                subscriber.Drop(reason);
            }
        }
    }

    public void Dispose() => _redis.ConnectionRestored -= OnConnectionRestored;

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType != ConnectionType.Subscription)
        {
            return;
        }
        // Whatever was published while the subscription connection was down never reached us: every subscriber
        // recovers from history (or resyncs, if Redis restarted and lost it).
        Log.SubscriptionRestored(_logger, _entries.Count);
        DropAll(ResubscribeReasons.Gap);
    }

    private sealed class Entry(ChannelDispatcher owner, ChannelName channel)
    {
        public ChannelName Channel { get; } = channel;
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public ChannelMessageQueue? Queue { get; set; }
        public bool Removed { get; set; }
        public ImmutableArray<ChannelSubscriber> Subscribers { get; set; } = [];

        public void OnMessage(ChannelMessage message)
        {
            ChannelEvent e;
            try
            {
                // Parsed once per node from the published bytes; every local subscriber gets this same instance.
                e = ChannelEvent.Parse((ReadOnlyMemory<byte>)message.Message, Channel.Value);
            }
            catch (Exception ex) when (ex is System.Text.Json.JsonException or ArgumentException or FormatException or InvalidOperationException)
            {
                Log.MalformedEvent(owner._logger, Channel.Value, ex);
                return;
            }
            owner._telemetry.EventReceived(e);
            foreach (var subscriber in Subscribers)
            {
                subscriber.OnEvent(e);
            }
        }

        public async ValueTask RemoveAsync(ChannelSubscriber subscriber)
        {
            await Gate.WaitAsync();
            try
            {
                Subscribers = Subscribers.Remove(subscriber);
                if (Subscribers.IsEmpty && !Removed)
                {
                    Removed = true;
                    owner._entries.TryRemove(new KeyValuePair<string, Entry>(Channel.Value, this));
                    if (Queue is not null)
                    {
                        try
                        {
                            await Queue.UnsubscribeAsync();
                        }
                        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
                        {
                            Log.UnsubscribeFailed(owner._logger, Channel.Value, ex);
                        }
                    }
                }
            }
            finally
            {
                Gate.Release();
            }
        }
    }

    private sealed class Registration(Entry entry, ChannelSubscriber subscriber) : IAsyncDisposable
    {
        private int _disposed;

        public ValueTask DisposeAsync() =>
            Interlocked.Exchange(ref _disposed, 1) == 0 ? entry.RemoveAsync(subscriber) : ValueTask.CompletedTask;
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Warning, "Redis subscription connection restored; asking {ChannelCount} channels' subscribers to recover")]
        public static partial void SubscriptionRestored(ILogger logger, int channelCount);

        [LoggerMessage(LogLevel.Warning, "Dropped a malformed event on channel {Channel}")]
        public static partial void MalformedEvent(ILogger logger, string channel, Exception exception);

        [LoggerMessage(LogLevel.Warning, "Could not unsubscribe from channel {Channel}")]
        public static partial void UnsubscribeFailed(ILogger logger, string channel, Exception exception);
    }
}
