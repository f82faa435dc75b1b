using AiStreaming.Channels;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace AiStreaming.Tests.EndToEnd;

/// <summary>
/// A SignalR client of <c>/hubs/stream</c> behaving as the web client does: reconnects forever, and after a
/// disconnect or a <c>resubscribe</c> frame subscribes again from its last position.
/// </summary>
public sealed class HubStreamClient : IAsyncDisposable
{
    private readonly HubConnection _connection;
    private readonly string _channel;
    private readonly WebSession _session;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    private HubStreamClient(WebSession session, string channel, HubClientKind kind)
    {
        _channel = channel;
        _session = session;
        Kind = kind;
        var builder = new HubConnectionBuilder()
            .WithUrl(new Uri(session.BaseAddress, "/hubs/stream"), options =>
            {
                // Through Web's proxy with a copy of the session's sign-in cookie.
                options.Cookies = new System.Net.CookieContainer();
                options.Cookies.Add(session.Cookies.GetAllCookies());
                // As the page connects: WebSockets without negotiate, so no replica affinity is needed.
                options.Transports = HttpTransportType.WebSockets;
                options.SkipNegotiation = true;
            })
            .WithAutomaticReconnect(new ForeverRetryPolicy());
        if (kind == HubClientKind.MessagePack)
        {
            builder.AddMessagePackProtocol();
        }
        _connection = builder.Build();
    }

    /// <summary>Protocol and transport of this client.</summary>
    public HubClientKind Kind { get; }

    /// <summary>What this client received (data and position frames; <c>reconnecting</c> and heartbeats are statuses, not data).</summary>
    public ChannelTranscript Transcript { get; } = new();

    /// <summary>
    /// Whether the streamer last said <c>reconnecting</c> (it lost Redis) and nothing has arrived since: the status a
    /// page shows. Cleared by the next frame (the <c>subscribed</c> that resumes the stream, or any event).
    /// </summary>
    public bool IsReconnecting { get; private set; }

    /// <summary><c>reconnecting</c> frames received, across connections.</summary>
    public int ReconnectingFrames => _reconnectingFrames;

    private int _reconnectingFrames;

    /// <summary>
    /// Connects and subscribes to <paramref name="channel"/>: live only, or from <paramref name="sinceOffset"/> of
    /// <paramref name="epoch"/> when given.
    /// </summary>
    public static async Task<HubStreamClient> StartAsync(
        WebSession session, string channel, long? sinceOffset = null, string? epoch = null, CancellationToken cancellationToken = default,
        HubClientKind kind = HubClientKind.Json)
    {
        var client = new HubStreamClient(session, channel, kind);
        if (sinceOffset is { } since && epoch is not null)
        {
            client.Transcript.Seed(epoch, since);
        }
        await client.ConnectAsync(cancellationToken);
        client._loop = Task.Run(client.RunAsync, CancellationToken.None);
        await client.Transcript.WaitUntilAsync(t => t.Subscriptions.Count > 0, TimeSpan.FromSeconds(30), "the first subscription");
        return client;
    }

    private async Task ConnectAsync(CancellationToken cancellationToken)
    {
        // As the web client does: the first connect retries too (a replica may be leaving or joining right now).
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (true)
        {
            try
            {
                await _connection.StartAsync(timeout.Token);
                return;
            }
            catch (Exception) when (!timeout.IsCancellationRequested)
            {
                await Task.Delay(200, timeout.Token);
            }
        }
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                while (_connection.State != HubConnectionState.Connected)
                {
                    if (_connection.State == HubConnectionState.Disconnected)
                    {
                        await ConnectAsync(_stop.Token); // closed for good (e.g. by a stopping server): start again
                    }
                    await Task.Delay(50, _stop.Token);
                }
                var (epoch, offset) = Transcript.Position;
                long? since = epoch is null ? null : offset;
                // A fresh subscription token for every subscribe, as the web client refreshes before expiry.
                var token = await _session.GetTokenAsync(_channel, _stop.Token);
                var events = Kind == HubClientKind.MessagePack
                    ? _connection.StreamAsync<object>("Subscribe", _channel, since, epoch, token, _stop.Token).Select(MessagePackEvents.ToChannelEvent)
                    : _connection.StreamAsync<ChannelEvent>("Subscribe", _channel, since, epoch, token, _stop.Token);
                await foreach (var e in events)
                {
                    if (e.Type == "reconnecting")
                    {
                        // The streamer lost Redis: a status, not data (its position is the one already processed).
                        IsReconnecting = true;
                        Interlocked.Increment(ref _reconnectingFrames);
                        continue;
                    }
                    IsReconnecting = false;
                    Transcript.OnEvent(e);
                    if (e.Type == ChannelEventTypes.Resubscribe && e.Data!.Value.GetProperty("reason").GetString() == "shutdown")
                    {
                        // As the page does: the replica is draining, so leave it on a new connection (the proxy
                        // picks a replica again) instead of subscribing again on this one.
                        await _connection.StopAsync(_stop.Token);
                        await ConnectAsync(_stop.Token);
                        break;
                    }
                    if (e.Type == ChannelEventTypes.Subscribed && !e.Data!.Value.GetProperty("recovered").GetBoolean())
                    {
                        // Not recovered: like the web client, load the conversation's state from the Api.
                        await Transcript.ResyncFromApiAsync(_session.Http, _channel, _stop.Token);
                    }
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                // Connection lost mid-stream: automatic reconnect is under way; subscribe again once connected.
                await Task.Delay(100);
            }
        }
    }

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

    private sealed class ForeverRetryPolicy : IRetryPolicy
    {
        public TimeSpan? NextRetryDelay(RetryContext retryContext) =>
            TimeSpan.FromMilliseconds(Math.Min(1000, 100 * (retryContext.PreviousRetryCount + 1)));
    }
}

/// <summary>How a <see cref="HubStreamClient"/> talks to the hub: always WebSockets without negotiate.</summary>
public enum HubClientKind
{
    /// <summary>JSON protocol over WebSockets, negotiation skipped (as the page connects).</summary>
    Json,

    /// <summary>MessagePack protocol over WebSockets, negotiation skipped.</summary>
    MessagePack,
}
