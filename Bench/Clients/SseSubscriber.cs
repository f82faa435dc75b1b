using System.Net.ServerSentEvents;
using System.Text;
using AiStreaming.Bench.Measure;
using AiStreaming.Channels;

namespace AiStreaming.Bench.Clients;

/// <summary>
/// An SSE client of <c>GET /sse/{channel}</c> over <see cref="HttpClient"/>, behaving as EventSource does: whenever the
/// response ends or fails it reconnects with <c>Last-Event-ID</c> = the last <c>id:</c> received. Events go to
/// <see cref="Tally"/>.
/// </summary>
/// <param name="http">A shared client (the caller owns it) whose base address is a streamer replica or Web.</param>
/// <param name="channel">Channel, <c>conv:{id}</c>.</param>
/// <param name="tally">Where events are counted.</param>
/// <param name="lastEventId">Position to resume from (<c>{epoch}:{offset}</c>), or null for live only.</param>
public sealed class SseSubscriber(HttpClient http, string channel, SubscriberTally tally, string? lastEventId = null) : ISubscriber
{
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _loop = Task.CompletedTask;

    /// <inheritdoc/>
    public SubscriberTally Tally { get; } = tally;

    /// <summary>The last event id received (<c>{epoch}:{offset}</c>).</summary>
    public string? LastEventId { get; private set; } = lastEventId;

    /// <summary>HTTP responses read (1 + reconnects).</summary>
    public int Connections { get; private set; }

    /// <summary>Creates the shared HTTP client SSE subscribers use: no connection limit, no timeout.</summary>
    public static HttpClient CreateHttpClient(Uri baseAddress)
    {
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) };
        if (BenchAuth.WebCookies is { } cookies)
        {
            handler.CookieContainer = cookies;
        }
        return new HttpClient(handler) { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <inheritdoc/>
    /// <exception cref="TimeoutException">No <c>subscribed</c> frame within 60 s.</exception>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(RunAsync, CancellationToken.None);
        await _subscribed.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"/sse/{channel}?token={Uri.EscapeDataString(BenchAuth.SubscriptionToken(channel))}");
                if (LastEventId is not null)
                {
                    request.Headers.Add("Last-Event-ID", LastEventId);
                }
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token);
                response.EnsureSuccessStatusCode();
                Connections++;
                await using var body = await response.Content.ReadAsStreamAsync(token);
                var parser = SseParser.Create(body, (_, bytes) => Encoding.UTF8.GetString(bytes));
                await foreach (var item in parser.EnumerateAsync(token))
                {
                    if (item.Data.Length == 0)
                    {
                        continue;
                    }
                    var e = BenchEvent.From(ChannelEvent.Parse(item.Data));
                    Tally.OnEvent(e, Clock.NowUs);
                    if (item.EventId is { Length: > 0 } id)
                    {
                        LastEventId = id;
                    }
                    if (e.Type == ChannelEventTypes.Subscribed)
                    {
                        _subscribed.TrySetResult();
                    }
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException or System.Text.Json.JsonException)
            {
                // The replica went away or the proxy failed: retry after a pause, as EventSource does (retry: 1000 ms).
            }
            await Task.Delay(200, CancellationToken.None);
        }
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
        _stop.Dispose();
    }
}
