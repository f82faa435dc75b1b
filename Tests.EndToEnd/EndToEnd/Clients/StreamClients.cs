using Microsoft.Playwright;

namespace AiStreaming.Tests.EndToEnd;

/// <summary>
/// Every kind of client the stack serves through Web, as the fault tests start them. None negotiates: a negotiated
/// transport (SignalR long polling or server-sent events) sends its later requests to the replica that negotiated, which
/// needs an affinity that neither Aspire's proxy nor Container Apps' default ingress gives.
/// </summary>
public enum ClientKind
{
    /// <summary>SignalR, JSON protocol, WebSockets without negotiate (as the page connects).</summary>
    SignalRJson,

    /// <summary>SignalR, MessagePack protocol, WebSockets without negotiate.</summary>
    SignalRMessagePack,

    /// <summary>Raw SSE over HttpClient, reconnecting with <c>Last-Event-ID</c> as EventSource does.</summary>
    Sse,

    /// <summary>Chromium's own EventSource.</summary>
    BrowserEventSource,
}

/// <summary>One started client of any <see cref="ClientKind"/>: its transcript and how to stop it.</summary>
public sealed class StreamClient(
    ClientKind kind, ChannelTranscript transcript, IAsyncDisposable owner, Func<bool>? gaveUp = null, Func<bool>? reconnecting = null,
    Func<int>? reconnectingFrames = null)
    : IAsyncDisposable
{
    /// <summary>The kind of client.</summary>
    public ClientKind Kind { get; } = kind;

    /// <summary>What it received.</summary>
    public ChannelTranscript Transcript { get; } = transcript;

    /// <summary>Whether it stopped reconnecting for good (only a browser EventSource can).</summary>
    public bool GaveUp => gaveUp?.Invoke() ?? false;

    /// <summary>Whether the streamer's last word was <c>reconnecting</c> (hub and raw SSE clients track it).</summary>
    public bool IsReconnecting => reconnecting?.Invoke() ?? false;

    /// <summary><c>reconnecting</c> frames received so far.</summary>
    public int ReconnectingFrames => reconnectingFrames?.Invoke() ?? 0;

    /// <summary>Starts a client of <paramref name="kind"/> on <paramref name="channel"/>, live, through Web; returns after its first <c>subscribed</c>.</summary>
    public static async Task<StreamClient> StartAsync(ClientKind kind, StackFixture stack, IBrowser browser, string channel)
    {
        switch (kind)
        {
            case ClientKind.Sse:
                var sse = await SseStreamClient.StartAsync(stack.Session, channel);
                return new StreamClient(kind, sse.Transcript, sse, reconnecting: () => sse.IsReconnecting, reconnectingFrames: () => sse.ReconnectingFrames);
            case ClientKind.BrowserEventSource:
                var eventSource = await BrowserEventSourceClient.StartAsync(browser, stack, channel);
                return new StreamClient(kind, eventSource.Transcript, eventSource, () => eventSource.GaveUp, reconnectingFrames: () => eventSource.ReconnectingFrames);
            default:
                var hubKind = kind == ClientKind.SignalRMessagePack ? HubClientKind.MessagePack : HubClientKind.Json;
                var hub = await HubStreamClient.StartAsync(stack.Session, channel, kind: hubKind);
                return new StreamClient(kind, hub.Transcript, hub, reconnecting: () => hub.IsReconnecting, reconnectingFrames: () => hub.ReconnectingFrames);
        }
    }

    public ValueTask DisposeAsync() => owner.DisposeAsync();
}
