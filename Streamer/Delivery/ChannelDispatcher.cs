using System.Collections.Concurrent;
using System.Collections.Immutable;
using AiStreaming.Channels;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AiStreaming.Streamer.Delivery;

/// <summary>
/// Holds one Redis pub/sub subscription per channel that this process's clients watch, and fans each live event
/// out to the local subscribers. Token delivery deliberately bypasses SignalR groups: through the Redis backplane
/// every group send would cross Redis again (docs/architecture.md, "The per-token path").
/// </summary>
/// <remarks>
/// StackExchange.Redis runs a <see cref="ChannelMessageQueue"/> handler for one message at a time, in publish order;
/// the handler parses the event once and hands it to each subscriber's bounded buffer without awaiting.
/// </remarks>
internal sealed partial class ChannelDispatcher
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new();
    private readonly IConnectionMultiplexer _redis;
    private readonly StreamerTelemetry _telemetry;
    private readonly ILogger<ChannelDispatcher> _logger;
    private readonly bool _sharded;

    /// <summary>Creates the dispatcher.</summary>
    /// <param name="redis">Redis connection (its subscriber).</param>
    /// <param name="telemetry">Instruments.</param>
    /// <param name="logger">Logger.</param>
    /// <param name="options">Channel options (<see cref="ChannelOptions.ShardedPubSub"/>); classic pub/sub when absent.</param>
    public ChannelDispatcher(IConnectionMultiplexer redis, StreamerTelemetry telemetry, ILogger<ChannelDispatcher> logger, IOptions<ChannelOptions>? options = null)
    {
        _redis = redis;
        _telemetry = telemetry;
        _logger = logger;
        _sharded = options?.Value.ShardedPubSub ?? false;
    }

    /// <summary>Channels with at least one local subscriber.</summary>
    public int ChannelCount => _entries.Count;

    /// <summary>Redis outages seen so far (<see cref="MarkOutage"/>); a channel's subscription made before the last one is made anew on resume.</summary>
    public long Outages => Interlocked.Read(ref _outages);

    private long _outages;

    /// <summary>Records the start of a Redis outage (called by <see cref="RedisOutages"/>).</summary>
    public void MarkOutage() => Interlocked.Increment(ref _outages);

    /// <summary>
    /// Registers <paramref name="subscriber"/> and returns once the Redis subscription for its channel is active, so
    /// every event published from then on reaches the subscriber. When Redis is unreachable the subscriber stays
    /// registered (the exception carries the registration in <see cref="PendingSubscriptionException.Registration"/>);
    /// <see cref="EnsureSubscribedAsync"/> then completes the Redis subscription later.
    /// </summary>
    /// <returns>A handle that unregisters the subscriber when disposed.</returns>
    /// <exception cref="PendingSubscriptionException">Redis is unreachable (the inner exception says how).</exception>
    public async Task<IAsyncDisposable> AddAsync(SubscriptionFeed subscriber, CancellationToken cancellationToken)
    {
        var registration = (Registration)await AddPendingAsync(subscriber, cancellationToken);
        try
        {
            await registration.Entry.EnsureSubscribedAsync(cancellationToken);
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            throw new PendingSubscriptionException(registration, ex);
        }
        catch
        {
            await registration.DisposeAsync();
            throw;
        }
        return registration;
    }

    /// <summary>Registers <paramref name="subscriber"/> without subscribing in Redis (Redis is known to be down).</summary>
    /// <returns>A handle that unregisters the subscriber when disposed.</returns>
    public async Task<IAsyncDisposable> AddPendingAsync(SubscriptionFeed subscriber, CancellationToken cancellationToken)
    {
        while (true)
        {
            var entry = _entries.GetOrAdd(subscriber.Channel.Value, static (k, self) => new Entry(self, ChannelName.Parse(k)), this);
            await entry.Gate.WaitAsync(cancellationToken);
            try
            {
                if (!entry.Removed)
                {
                    entry.Subscribers = entry.Subscribers.Add(subscriber);
                    return new Registration(entry, subscriber);
                }
            }
            finally
            {
                entry.Gate.Release();
            }
        }
    }

    /// <summary>Makes sure the Redis subscription of <paramref name="channel"/> is active (after an outage at subscribe time).</summary>
    /// <exception cref="RedisException">Redis is unreachable (or another <see cref="RedisFaults.IsUnavailable"/> fault).</exception>
    public Task EnsureSubscribedAsync(ChannelName channel, CancellationToken cancellationToken) =>
        _entries.TryGetValue(channel.Value, out var entry) ? entry.EnsureSubscribedAsync(cancellationToken) : Task.CompletedTask;

    /// <summary>Every local subscriber, at the time of the call.</summary>
    public IEnumerable<SubscriptionFeed> Subscribers => _entries.Values.SelectMany(e => e.Subscribers);

    /// <summary>Ends every local subscription with a <c>resubscribe</c> frame (e.g. on shutdown).</summary>
    public void DropAll(string reason)
    {
        foreach (var subscriber in Subscribers)
        {
            subscriber.Drop(reason);
        }
    }

    private sealed class Entry(ChannelDispatcher owner, ChannelName channel)
    {
        public ChannelName Channel { get; } = channel;
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public ChannelMessageQueue? Queue { get; set; }
        private Task<ChannelMessageQueue>? _subscribing;
        private long _madeAfterOutage = -1;

        // One SUBSCRIBE in flight per channel: a caller that gives up waiting leaves it for the next one, so a late
        // answer never leaves a second, unread queue behind. A queue made before the last Redis outage is made anew
        // once: StackExchange.Redis re-subscribes it by itself, but maybe after the resuming subscriber has read
        // history, and what was published in between would then be neither replayed nor delivered live. A confirmed
        // SUBSCRIBE before the history read closes that window.
        public async Task EnsureSubscribedAsync(CancellationToken cancellationToken)
        {
            var outages = owner.Outages;
            Task<ChannelMessageQueue> subscribing;
            await Gate.WaitAsync(cancellationToken);
            try
            {
                if (Removed || (Queue is not null && _madeAfterOutage >= outages))
                {
                    return;
                }
                if (Queue is { } stale)
                {
                    Queue = null;
                    await UnsubscribeAsync(stale);
                }
                subscribing = _subscribing ??= owner._redis.GetSubscriber().SubscribeAsync(Channel.PubSubChannelFor(owner._sharded));
            }
            finally
            {
                Gate.Release();
            }
            ChannelMessageQueue queue;
            try
            {
                queue = await subscribing.WaitAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _ = Interlocked.CompareExchange(ref _subscribing, null, subscribing); // failed: the next caller tries again
                throw;
            }
            await Gate.WaitAsync(CancellationToken.None);
            try
            {
                _ = Interlocked.CompareExchange(ref _subscribing, null, subscribing);
                if (Queue is null)
                {
                    queue.OnMessage(OnMessage);
                    Queue = queue;
                    _madeAfterOutage = outages;
                }
                else if (!ReferenceEquals(Queue, queue))
                {
                    await UnsubscribeAsync(queue);
                }
                if (Removed)
                {
                    await UnsubscribeAsync(Queue);
                }
            }
            finally
            {
                Gate.Release();
            }
        }

        public bool Removed { get; set; }
        public ImmutableArray<SubscriptionFeed> Subscribers { get; set; } = [];

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

        public async ValueTask RemoveAsync(SubscriptionFeed subscriber)
        {
            await Gate.WaitAsync();
            try
            {
                Subscribers = Subscribers.Remove(subscriber);
                if (Subscribers.IsEmpty && !Removed)
                {
                    Removed = true;
                    owner._entries.TryRemove(new KeyValuePair<string, Entry>(Channel.Value, this));
                    await UnsubscribeAsync(Queue);
                }
            }
            finally
            {
                Gate.Release();
            }
        }

        private async Task UnsubscribeAsync(ChannelMessageQueue? queue)
        {
            if (queue is null)
            {
                return;
            }
            try
            {
                await queue.UnsubscribeAsync();
            }
            catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
            {
                Log.UnsubscribeFailed(owner._logger, Channel.Value, ex);
            }
        }
    }

    private sealed class Registration(Entry entry, SubscriptionFeed subscriber) : IAsyncDisposable
    {
        public Entry Entry => entry;

        private int _disposed;

        public ValueTask DisposeAsync() =>
            Interlocked.Exchange(ref _disposed, 1) == 0 ? entry.RemoveAsync(subscriber) : ValueTask.CompletedTask;
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Warning, "Dropped a malformed event on channel {Channel}")]
        public static partial void MalformedEvent(ILogger logger, string channel, Exception exception);

        [LoggerMessage(LogLevel.Warning, "Could not unsubscribe from channel {Channel}")]
        public static partial void UnsubscribeFailed(ILogger logger, string channel, Exception exception);
    }
}

/// <summary>
/// Redis was unreachable when a subscriber was added: it is registered (live events reach it once Redis is back and
/// <see cref="ChannelDispatcher.EnsureSubscribedAsync"/> succeeds); dispose <see cref="Registration"/> to remove it.
/// </summary>
/// <param name="registration">The subscriber's registration.</param>
/// <param name="inner">The Redis fault.</param>
internal sealed class PendingSubscriptionException(IAsyncDisposable registration, Exception inner)
    : Exception("Redis is unreachable; the subscription is pending.", inner)
{
    /// <summary>Unregisters the subscriber when disposed.</summary>
    public IAsyncDisposable Registration { get; } = registration;
}
