using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using AiStreaming.Channels;

namespace AiStreaming.Tests.EndToEnd;

/// <summary>
/// An SSE client of <c>/sse/{channel}</c> behaving as the browser's EventSource does: on any disconnect it reconnects
/// with <c>Last-Event-ID</c> set to the last <c>id:</c> it received.
/// </summary>
public sealed class SseStreamClient : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly WebSession _session;
    private readonly string _channel;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    private SseStreamClient(WebSession session, string channel)
    {
        _channel = channel;
        _session = session;
        var cookies = new CookieContainer();
        cookies.Add(session.Cookies.GetAllCookies());
        _http = new HttpClient(new SocketsHttpHandler { CookieContainer = cookies })
        {
            BaseAddress = session.BaseAddress,
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

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

    /// <summary>The last event id received (<c>{epoch}:{offset}</c>).</summary>
    public string? LastEventId { get; private set; }

    /// <summary>Connections made (1 + reconnects).</summary>
    public int Connections { get; private set; }

    /// <summary>Connects and reads <paramref name="channel"/> live.</summary>
    public static async Task<SseStreamClient> StartAsync(WebSession session, string channel)
    {
        var client = new SseStreamClient(session, channel);
        client._loop = Task.Run(client.RunAsync);
        await client.Transcript.WaitUntilAsync(t => t.Subscriptions.Count > 0, TimeSpan.FromSeconds(30), "the first SSE subscription");
        return client;
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                // A fresh subscription token on every (re)connect: EventSource's URL carries it.
                var token = await _session.GetTokenAsync(_channel, _stop.Token);
                using var request = new HttpRequestMessage(HttpMethod.Get, $"/sse/{_channel}?token={Uri.EscapeDataString(token)}");
                if (LastEventId is not null)
                {
                    request.Headers.Add("Last-Event-ID", LastEventId);
                }
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, _stop.Token);
                response.EnsureSuccessStatusCode();
                Connections++;
                await using var body = await response.Content.ReadAsStreamAsync(_stop.Token);
                var parser = SseParser.Create(body, (_, bytes) => Encoding.UTF8.GetString(bytes));
                await foreach (var item in parser.EnumerateAsync(_stop.Token))
                {
                    if (item.EventType == "heartbeat")
                    {
                        continue; // keep-alive while idle
                    }
                    var e = ChannelEvent.Parse(item.Data);
                    if (e.Type == "reconnecting")
                    {
                        // The streamer lost Redis: a status, not data (its position is the one already processed).
                        IsReconnecting = true;
                        Interlocked.Increment(ref _reconnectingFrames);
                        continue;
                    }
                    IsReconnecting = false;
                    Transcript.OnEvent(e);
                    if (e.Type == ChannelEventTypes.Subscribed && !e.Data!.Value.GetProperty("recovered").GetBoolean())
                    {
                        // Not recovered: like the web client, load the conversation's state from the Api.
                        await Transcript.ResyncFromApiAsync(_session.Http, _channel, _stop.Token);
                    }
                    if (item.EventId is { Length: > 0 } id)
                    {
                        LastEventId = id;
                    }
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
            {
                // The serving replica went away (or the proxy answered 502 before noticing): retry, as EventSource does.
            }
            await Task.Delay(200);
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
        _http.Dispose();
        _stop.Dispose();
    }
}
