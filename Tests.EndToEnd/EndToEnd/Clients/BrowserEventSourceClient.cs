using System.Threading.Channels;
using AiStreaming.Channels;
using AiStreaming.Tests.Browser;
using Microsoft.Playwright;

namespace AiStreaming.Tests.EndToEnd;

/// <summary>
/// Chromium's own <c>EventSource</c> on Web's <c>/sse/{channel}</c>, in a page signed in as the stack's session user:
/// the browser alone decides when to reconnect (with <c>Last-Event-ID</c>, after the stream's <c>retry:</c>), and gives
/// up for good on any answer that is not a 200 <c>text/event-stream</c> (<see cref="GaveUp"/>). Every frame is handed
/// to .NET and applied to <see cref="Transcript"/> in order.
/// </summary>
public sealed class BrowserEventSourceClient : IAsyncDisposable
{
    private static readonly string[] EventTypes =
    [
        "subscribed", "resubscribe", "reconnecting", "presence", "delta", "message.started", "message.queued", "message.resumed",
        "message.completed", "message.failed", "message.cancelled",
    ];

    private readonly IBrowserContext _context;
    private readonly WebSession _session;
    private readonly string _channel;
    private readonly Channel<string> _frames = Channel.CreateUnbounded<string>(new() { SingleReader = true });
    private readonly Task _loop;
    private int _reconnectingFrames;
    private int _opens;

    private BrowserEventSourceClient(IBrowserContext context, WebSession session, string channel)
    {
        _context = context;
        _session = session;
        _channel = channel;
        _loop = Task.Run(ApplyAsync);
    }

    /// <summary>What the EventSource received (<c>reconnecting</c> is a status, not data).</summary>
    public ChannelTranscript Transcript { get; } = new();

    /// <summary><c>reconnecting</c> frames received.</summary>
    public int ReconnectingFrames => Volatile.Read(ref _reconnectingFrames);

    /// <summary>Times the EventSource opened (1 + reconnects).</summary>
    public int Opens => Volatile.Read(ref _opens);

    /// <summary>Whether the EventSource closed for good (<c>readyState</c> CLOSED after an error): what a non-200 answer does.</summary>
    public bool GaveUp { get; private set; }

    /// <summary>Opens a signed-in page on Web and an EventSource on <paramref name="channel"/>; returns after its first <c>subscribed</c>.</summary>
    public static async Task<BrowserEventSourceClient> StartAsync(IBrowser browser, StackFixture stack, string channel)
    {
        var context = await ChatPage.SignedInContextAsync(browser, stack.WebUri, stack.Session.Name);
        var client = new BrowserEventSourceClient(context, stack.Session, channel);
        var page = await context.NewPageAsync();
        await page.ExposeFunctionAsync("esFrame", (string data) => client._frames.Writer.TryWrite(data));
        await page.ExposeFunctionAsync("esState", (string state) =>
        {
            if (state == "open")
            {
                Interlocked.Increment(ref client._opens);
            }
            else if (state == "closed")
            {
                client.GaveUp = true;
            }
            return true;
        });
        // Any same-origin document will do; this one runs no script of its own (the chat page would open a hub connection).
        await page.GotoAsync(new Uri(stack.WebUri, "/api/conversations").ToString());
        await page.EvaluateAsync("""
            async ([channel, types]) => {
              const { token } = await (await fetch(`/api/conversations/${channel.slice(5)}/token`)).json();
              const source = new EventSource(`/sse/${channel}?token=${encodeURIComponent(token)}`);
              source.onopen = () => window.esState('open');
              source.onerror = () => { if (source.readyState === EventSource.CLOSED) window.esState('closed'); };
              for (const type of types) source.addEventListener(type, e => window.esFrame(e.data));
            }
            """, new object[] { channel, EventTypes });
        await client.Transcript.WaitUntilAsync(t => t.Subscriptions.Count > 0, TimeSpan.FromSeconds(30), "the EventSource's first subscription");
        return client;
    }

    private async Task ApplyAsync()
    {
        await foreach (var data in _frames.Reader.ReadAllAsync())
        {
            var e = ChannelEvent.Parse(data);
            if (e.Type == "reconnecting")
            {
                Interlocked.Increment(ref _reconnectingFrames);
                continue;
            }
            Transcript.OnEvent(e);
            if (e.Type == ChannelEventTypes.Subscribed && !e.Data!.Value.GetProperty("recovered").GetBoolean())
            {
                // Not recovered: as a page would, load the conversation's state from the Api.
                await Transcript.ResyncFromApiAsync(_session.Http, _channel, CancellationToken.None);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _context.DisposeAsync();
        _frames.Writer.TryComplete();
        await _loop;
    }
}
