using System.Net;
using System.Net.ServerSentEvents;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using AiStreaming.Channels;

namespace AiStreaming.Bench.Clients;

/// <summary>
/// A client that subscribes and then never reads (a small socket receive buffer, so the server's writes back up fast),
/// until <see cref="ReadAsync"/> wakes it: it then reads what the connection still holds; if the server cut it off or
/// ended the subscription, it resubscribes from its last offset with a well-behaved client and reads to the end.
/// </summary>
public abstract class SlowClient(Uri baseAddress, string channel, SubscriberTally tally) : IAsyncDisposable
{
    /// <summary>Socket receive buffer of slow clients, bytes (the kernel doubles it and adds overhead).</summary>
    public const int ReceiveBufferBytes = 4096;

    /// <summary>The streamer's (or Web's) address.</summary>
    protected Uri BaseAddress { get; } = baseAddress;

    /// <summary>Channel, <c>conv:{id}</c>.</summary>
    public string Channel { get; } = channel;

    /// <summary>What it received (across the raw connection and the recovery).</summary>
    public SubscriberTally Tally { get; } = tally;

    /// <summary>Transport name: <c>sse</c> or <c>websocket</c>.</summary>
    public abstract string Kind { get; }

    /// <summary>Local TCP port of the raw connection (to find its state in <c>/proc/net/tcp</c>).</summary>
    public int LocalPort { get; protected set; }

    /// <summary>Seconds after the slow phase started when the server was first seen to have closed the connection, or null.</summary>
    public double? CutOffAfterSeconds { get; set; }

    /// <summary>How reading ended on the raw connection: <c>read through</c>, <c>closed</c>, <c>resubscribe</c>, <c>error: …</c>.</summary>
    public string RawOutcome { get; protected set; } = "not read";

    /// <summary>Whether a well-behaved client had to resubscribe after the raw connection.</summary>
    public bool Resumed { get; private set; }

    /// <summary>Connects, sends the request/subscription, and never reads.</summary>
    public abstract Task OpenAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Reads the raw connection until <paramref name="done"/> holds or it ends; then, if needed, resumes from the last
    /// offset (SSE: <c>Last-Event-ID</c>; SignalR: <c>Subscribe(channel, offset, epoch)</c>) until <paramref name="done"/>.
    /// </summary>
    /// <returns>Whether <paramref name="done"/> held before <paramref name="timeout"/>.</returns>
    public async Task<bool> ReadAsync(Func<SubscriberTally, bool> done, TimeSpan timeout, string protocol)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            RawOutcome = await ReadRawAsync(() => done(Tally), cts.Token);
        }
        catch (Exception ex) when (ex is IOException or SocketException or WebSocketException or OperationCanceledException or JsonException)
        {
            RawOutcome = cts.IsCancellationRequested ? "timed out" : $"closed ({ex.GetType().Name})";
        }
        if (done(Tally) || cts.IsCancellationRequested)
        {
            return done(Tally);
        }
        Resumed = true;
        using var http = SseSubscriber.CreateHttpClient(BaseAddress);
        await using ISubscriber resume = Kind == "sse"
            ? new SseSubscriber(http, Channel, Tally, Tally.HasPosition ? $"{Tally.Epoch}:{Tally.Offset}" : null)
            : new HubSubscriber(BaseAddress, Channel, protocol, Tally);
        try
        {
            await resume.StartAsync(cts.Token);
            while (!done(Tally))
            {
                await Task.Delay(100, cts.Token);
            }
            return true;
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
            return done(Tally);
        }
    }

    /// <summary>Reads the raw connection into <see cref="Tally"/>; returns how it ended.</summary>
    protected abstract Task<string> ReadRawAsync(Func<bool> done, CancellationToken cancellationToken);

    /// <summary>A TCP socket to the base address with a small receive buffer, connected.</summary>
    protected async Task<Socket> ConnectSocketAsync(CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = ReceiveBufferBytes, NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Parse(BaseAddress.Host), BaseAddress.Port), cancellationToken);
        LocalPort = ((IPEndPoint)socket.LocalEndPoint!).Port;
        return socket;
    }

    /// <inheritdoc/>
    public abstract ValueTask DisposeAsync();
}

/// <summary>A raw SSE subscriber: <c>GET /sse/{channel} HTTP/1.0</c> (no chunked encoding: the body is the event stream until close).</summary>
public sealed class SlowSseClient(Uri baseAddress, string channel, SubscriberTally tally) : SlowClient(baseAddress, channel, tally)
{
    private Socket? _socket;

    /// <inheritdoc/>
    public override string Kind => "sse";

    /// <inheritdoc/>
    public override async Task OpenAsync(CancellationToken cancellationToken)
    {
        _socket = await ConnectSocketAsync(cancellationToken);
        var request = $"GET /sse/{Channel}?token={Uri.EscapeDataString(BenchAuth.SubscriptionToken(Channel))} HTTP/1.0\r\nHost: {BaseAddress.Authority}\r\nAccept: text/event-stream\r\n\r\n";
        await _socket.SendAsync(Encoding.ASCII.GetBytes(request), cancellationToken);
    }

    /// <inheritdoc/>
    protected override async Task<string> ReadRawAsync(Func<bool> done, CancellationToken cancellationToken)
    {
        await using var stream = new NetworkStream(_socket!, ownsSocket: false);
        // Skip the response head, byte by byte (it is small).
        var tail = 0u;
        var one = new byte[1];
        while (tail != 0x0D0A0D0A)
        {
            if (await stream.ReadAsync(one, cancellationToken) == 0) return "closed";
            tail = (tail << 8) | one[0];
        }
        await foreach (var item in SseParser.Create(stream, (_, b) => Encoding.UTF8.GetString(b)).EnumerateAsync(cancellationToken))
        {
            if (item.Data.Length == 0) continue;
            var e = BenchEvent.From(ChannelEvent.Parse(item.Data));
            Tally.OnEvent(e, Measure.Clock.NowUs);
            if (done()) return "read through";
        }
        return "closed";
    }

    /// <inheritdoc/>
    public override ValueTask DisposeAsync()
    {
        _socket?.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// A raw SignalR client over WebSockets: sends the JSON handshake and a <c>StreamInvocation</c> of <c>Subscribe</c>
/// (SignalR hub protocol: JSON records ended by 0x1E), then never reads, never pings.
/// </summary>
public sealed class SlowWebSocketClient(Uri baseAddress, string channel, SubscriberTally tally) : SlowClient(baseAddress, channel, tally)
{
    private ClientWebSocket? _ws;
    private HttpMessageInvoker? _invoker;

    /// <inheritdoc/>
    public override string Kind => "websocket";

    /// <inheritdoc/>
    public override async Task OpenAsync(CancellationToken cancellationToken)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) => new NetworkStream(await ConnectSocketAsync(ct), ownsSocket: true),
        };
        _invoker = new HttpMessageInvoker(handler);
        _ws = new ClientWebSocket();
        _ws.Options.KeepAliveInterval = TimeSpan.Zero;
        _ws.Options.SetRequestHeader("Authorization", "Bearer " + BenchAuth.UserToken);
        var uri = new UriBuilder(new Uri(BaseAddress, "/hubs/stream")) { Scheme = "ws" }.Uri;
        await _ws.ConnectAsync(uri, _invoker, cancellationToken);
        var invocation = JsonSerializer.Serialize(new { type = 4, invocationId = "1", target = "Subscribe", arguments = new object?[] { Channel, null, null, BenchAuth.SubscriptionToken(Channel) } });
        await _ws.SendAsync(Encoding.UTF8.GetBytes("{\"protocol\":\"json\",\"version\":1}\u001e" + invocation + "\u001e"),
            WebSocketMessageType.Text, true, cancellationToken);
    }

    /// <inheritdoc/>
    protected override async Task<string> ReadRawAsync(Func<bool> done, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        var pending = new MemoryStream();
        var handshakeDone = false;
        while (true)
        {
            var r = await _ws!.ReceiveAsync(buffer, cancellationToken);
            if (r.MessageType == WebSocketMessageType.Close) return "closed";
            pending.Write(buffer, 0, r.Count);
            var bytes = pending.GetBuffer().AsSpan(0, (int)pending.Length);
            int sep;
            while ((sep = bytes.IndexOf((byte)0x1E)) >= 0)
            {
                using var doc = JsonDocument.Parse(bytes[..sep].ToArray());
                bytes = bytes[(sep + 1)..];
                if (!handshakeDone)
                {
                    handshakeDone = true;
                    if (doc.RootElement.TryGetProperty("error", out var err)) return $"handshake error: {err}";
                    continue;
                }
                var type = doc.RootElement.GetProperty("type").GetInt32();
                if (type == 2)
                {
                    var e = BenchEvent.From(ChannelEvent.Parse(doc.RootElement.GetProperty("item").GetRawText()));
                    Tally.OnEvent(e, Measure.Clock.NowUs);
                    if (done()) return "read through";
                    if (e.Type == ChannelEventTypes.Resubscribe) return "resubscribe";
                }
                else if (type is 3 or 7)
                {
                    return type == 3 ? "completed" : "closed by server";
                }
            }
            var rest = bytes.ToArray();
            pending.SetLength(0);
            pending.Write(rest);
        }
    }

    /// <inheritdoc/>
    public override ValueTask DisposeAsync()
    {
        _ws?.Abort();
        _ws?.Dispose();
        _invoker?.Dispose();
        return ValueTask.CompletedTask;
    }
}
