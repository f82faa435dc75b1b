using System.Collections.Concurrent;
using AiStreaming.Channels;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AiStreaming.Streamer.Delivery;

/// <summary>
/// Keeps subscriptions open across a Redis outage (docs/architecture.md, "Failure behaviour"). When the pub/sub
/// connection fails, or a probe (<c>PING</c> on it every <see cref="StreamerOptions.RedisProbeInterval"/>) gets no answer,
/// every local subscriber is suspended: it gets a <c>reconnecting {reason: redis_unavailable}</c> frame and its
/// stream stays open. A subscription opened while Redis is down is suspended from the start. Every
/// <see cref="StreamerOptions.RedisRetryInterval"/> each suspended subscriber is tried again: the channel's Redis
/// subscription is (re)made, history after its last delivered offset is read, and it continues
/// (<see cref="SubscriptionFeed.Resume"/>) or ends with <c>resubscribe</c> when continuity can't be proven.
/// </summary>
internal sealed partial class RedisOutages : BackgroundService
{
    private readonly ConcurrentDictionary<SubscriptionFeed, byte> _suspended = new();
    private readonly IConnectionMultiplexer _redis;
    private readonly ChannelDispatcher _dispatcher;
    private readonly ChannelHistory _history;
    private readonly StreamerOptions _options;
    private readonly StreamerTelemetry _telemetry;
    private readonly TimeProvider _time;
    private readonly ILogger<RedisOutages> _logger;
    private volatile bool _down;

    public RedisOutages(
        IConnectionMultiplexer redis, ChannelDispatcher dispatcher, ChannelHistory history, IOptions<StreamerOptions> options,
        StreamerTelemetry telemetry, TimeProvider time, ILogger<RedisOutages> logger)
    {
        _redis = redis;
        _dispatcher = dispatcher;
        _history = history;
        _options = options.Value;
        _telemetry = telemetry;
        _time = time;
        _logger = logger;
        _redis.ConnectionFailed += OnConnectionFailed;
    }

    /// <summary>Whether Redis is known to be unreachable now (new subscriptions then start suspended without trying).</summary>
    public bool IsDown => _down;

    /// <summary>Suspends <paramref name="subscriber"/> (a <c>reconnecting</c> frame) and retries it until Redis answers.</summary>
    public void Suspend(SubscriptionFeed subscriber)
    {
        subscriber.Suspend(ReconnectingReasons.RedisUnavailable);
        _suspended.TryAdd(subscriber, 0);
    }

    /// <summary>Suspends every local subscriber: Redis is unreachable.</summary>
    public void SuspendAll(string cause)
    {
        var first = !_down;
        _down = true;
        if (first)
        {
            _dispatcher.MarkOutage();
        }
        var count = 0;
        foreach (var subscriber in _dispatcher.Subscribers)
        {
            Suspend(subscriber);
            count++;
        }
        if (first)
        {
            Log.Suspended(_logger, count, cause);
        }
    }

    /// <inheritdoc/>
    public override void Dispose()
    {
        _redis.ConnectionFailed -= OnConnectionFailed;
        base.Dispose();
    }

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.RedisRetryInterval, _time);
        var sinceProbe = TimeSpan.Zero;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            sinceProbe += _options.RedisRetryInterval;
            if (!_suspended.IsEmpty)
            {
                await ResumeAllAsync(stoppingToken);
            }
            else if (sinceProbe >= _options.RedisProbeInterval && _dispatcher.ChannelCount > 0)
            {
                sinceProbe = TimeSpan.Zero;
                await ProbeAsync();
            }
        }
    }

    // A silent outage (no socket error: a hung server, a dropped network) is noticed by a PING on the pub/sub
    // connection that gets no answer within the probe interval.
    private async Task ProbeAsync()
    {
        try
        {
            await _redis.GetSubscriber().PingAsync().WaitAsync(_options.RedisProbeInterval, _time);
            _down = false;
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            SuspendAll(ex.GetType().Name);
        }
    }

    private async Task ResumeAllAsync(CancellationToken stoppingToken)
    {
        var resumed = 0;
        foreach (var subscriber in _suspended.Keys)
        {
            if (!subscriber.IsSuspended)
            {
                _suspended.TryRemove(subscriber, out _); // ended meanwhile (client left, shutdown)
                continue;
            }
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                timeout.CancelAfter(_options.RedisProbeInterval);
                await _dispatcher.EnsureSubscribedAsync(subscriber.Channel, timeout.Token);
                var (after, max) = subscriber.HistoryRequest;
                var snapshot = await _history.ReadAsync(subscriber.Channel, after, max).WaitAsync(timeout.Token);
                if (subscriber.Resume(snapshot) is { } plan && subscriber.SinceOffset is not null)
                {
                    _telemetry.Recovery(plan.Recovered); // a subscription that opened during the outage
                }
                _suspended.TryRemove(subscriber, out _);
                resumed++;
            }
            catch (Exception ex) when (RedisFaults.IsUnavailable(ex) || (ex is OperationCanceledException && !stoppingToken.IsCancellationRequested))
            {
                return; // still down: try everyone again next tick
            }
        }
        if (_down && resumed > 0)
        {
            _down = false;
            Log.Resumed(_logger, resumed);
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Subscription)
        {
            SuspendAll(e.FailureType.ToString());
        }
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Warning, "Redis unreachable ({Cause}): {Count} subscriptions told 'reconnecting'; they resume when Redis answers")]
        public static partial void Suspended(ILogger logger, int count, string cause);

        [LoggerMessage(LogLevel.Information, "Redis answers again: {Count} subscriptions resumed")]
        public static partial void Resumed(ILogger logger, int count);
    }
}
