using AiStreaming.Bench.Measure;
using AiStreaming.Channels;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace AiStreaming.Bench.Clients;

/// <summary>
/// One SignalR connection (WebSockets, negotiation skipped) to <c>/hubs/stream</c> holding one subscription, as the web
/// client does: after a <c>resubscribe</c> frame or a lost connection it subscribes again from its last position.
/// Runs as a task (no thread of its own); events go to <see cref="Tally"/>.
/// </summary>
public sealed class HubSubscriber : ISubscriber
{
    private readonly HubConnection _connection;
    private readonly string _channel;
    private readonly bool _messagePack;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _loop = Task.CompletedTask;

    /// <summary>Creates the client; nothing connects before <see cref="StartAsync"/>.</summary>
    /// <param name="baseAddress">A streamer replica's (or Web's) address.</param>
    /// <param name="channel">Channel, <c>conv:{id}</c>.</param>
    /// <param name="protocol"><c>json</c> or <c>messagepack</c>.</param>
    /// <param name="tally">Where events are counted.</param>
    public HubSubscriber(Uri baseAddress, string channel, string protocol, SubscriberTally tally)
    {
        _channel = channel;
        _messagePack = protocol == "messagepack";
        Tally = tally;
        _connection = Build(baseAddress, _messagePack);
    }

    /// <inheritdoc/>
    public SubscriberTally Tally { get; }

    /// <summary>Reconnections after the first connect.</summary>
    public int Reconnects { get; private set; }

    /// <summary>Builds a hub connection: WebSockets only, <c>SkipNegotiation</c>, JSON or MessagePack, no automatic reconnect (the loop reconnects).</summary>
    public static HubConnection Build(Uri baseAddress, bool messagePack)
    {
        var builder = new HubConnectionBuilder().WithUrl(new Uri(baseAddress, "/hubs/stream"), o =>
        {
            o.SkipNegotiation = true;
            o.Transports = HttpTransportType.WebSockets;
            o.AccessTokenProvider = () => Task.FromResult<string?>(BenchAuth.UserToken);
            if (BenchAuth.WebCookies is { } cookies)
            {
                o.Cookies = cookies; // through Web: its cookie is the identity (Web replaces any bearer)
            }
        });
        if (messagePack)
        {
            builder.AddMessagePackProtocol();
        }
        return builder.Build();
    }

    /// <inheritdoc/>
    /// <exception cref="TimeoutException">No <c>subscribed</c> frame within 60 s.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await ConnectAsync(cancellationToken);
        _loop = Task.Run(RunAsync, CancellationToken.None);
        await _subscribed.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
    }

    private async Task ConnectAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await _connection.StartAsync(cancellationToken);
                return;
            }
            catch (Exception ex) when (ex is not Microsoft.AspNetCore.SignalR.HubException && attempt < 20 && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(100 * (attempt + 1), cancellationToken);
            }
        }
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                if (_connection.State == HubConnectionState.Disconnected)
                {
                    Reconnects++;
                    await ConnectAsync(token);
                }
                long? since = Tally.HasPosition ? Tally.Offset : null;
                var epoch = Tally.Epoch;
                if (_messagePack)
                {
                    await foreach (var item in _connection.StreamAsync<object>("Subscribe", _channel, since, epoch, BenchAuth.SubscriptionToken(_channel), token))
                    {
                        if (!Apply(BenchEvent.FromMessagePack(item))) break;
                    }
                }
                else
                {
                    await foreach (var e in _connection.StreamAsync<ChannelEvent>("Subscribe", _channel, since, epoch, BenchAuth.SubscriptionToken(_channel), token))
                    {
                        if (!Apply(BenchEvent.From(e))) break;
                    }
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                if (!_subscribed.Task.IsCompleted && ex is Microsoft.AspNetCore.SignalR.HubException)
                {
                    _subscribed.TrySetException(ex);
                    return;
                }
                await Task.Delay(100, CancellationToken.None);
            }
        }
    }

    private bool Apply(in BenchEvent e)
    {
        Tally.OnEvent(e, Clock.NowUs);
        if (e.Type == ChannelEventTypes.Subscribed)
        {
            _subscribed.TrySetResult();
        }
        return e.Type != ChannelEventTypes.Resubscribe;
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }
        await _connection.DisposeAsync();
        _stop.Dispose();
    }
}

/// <summary>A subscriber of one channel: starts, counts into its tally, stops.</summary>
public interface ISubscriber : IAsyncDisposable
{
    /// <summary>What it received.</summary>
    SubscriberTally Tally { get; }

    /// <summary>Connects and subscribes; returns after the first <c>subscribed</c> frame.</summary>
    Task StartAsync(CancellationToken cancellationToken);
}
