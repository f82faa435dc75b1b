using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using AiStreaming.Channels;
using AiStreaming.Streamer.Delivery;

namespace AiStreaming.Streamer.Sse;

/// <summary>
/// Writes a subscription as Server-Sent Events with the framework's <see cref="SseFormatter"/> (WHATWG HTML,
/// "Server-sent events"): per event <c>event: {type}</c>, one <c>data:</c> line with the event JSON and, for events with
/// a position (and <c>subscribed</c>), <c>id: {epoch}:{offset}</c>; the first frame also carries <c>retry: 250</c> (ms).
/// The data is the event's own UTF-8 bytes (<see cref="ChannelEvent.Utf8Json"/>, serialized once per node): a frame
/// costs copies per subscriber, not a serialization. Every queued event is written before one flush, so a burst costs
/// one socket write (<see cref="SseFormatter"/> flushes after each item: <see cref="BatchingStream"/> defers that to
/// the moment the subscriber's queue is empty). While idle, a <c>heartbeat</c> frame (no <c>id:</c>) keeps the
/// connection and proxies alive; <see cref="SseFormatter"/> cannot write comment lines.
/// </summary>
internal static class SseFrames
{
    /// <summary>The reconnection delay sent with the first frame: 250 ms.</summary>
    public static readonly TimeSpan Retry = TimeSpan.FromMilliseconds(250);

    /// <summary>Writes <paramref name="events"/> to <paramref name="writer"/> until the subscription ends or the client leaves.</summary>
    /// <param name="writer">The response body.</param>
    /// <param name="channel">Channel name (for the heartbeat frame).</param>
    /// <param name="events">The subscription's queue.</param>
    /// <param name="delivery">Told about the last event of each written batch.</param>
    /// <param name="cancellationToken">The request's abort token.</param>
    /// <exception cref="OperationCanceledException">The client went away.</exception>
    public static Task WriteAsync(PipeWriter writer, string channel, OutgoingFrames events, DeliveryTrace delivery, CancellationToken cancellationToken) =>
        SseFormatter.WriteAsync(Items(writer, channel, events, delivery, cancellationToken), new BatchingStream(writer), Format, cancellationToken);

    /// <summary>The SSE item of <paramref name="e"/>: its type as <c>event:</c>, its position as <c>id:</c> when it has one.</summary>
    internal static SseItem<ChannelEvent> Item(ChannelEvent e, bool first = false) => new(e, e.Type)
    {
        EventId = e.Epoch is { } epoch && (e.Offset > 0 || e.Type == ChannelEventTypes.Subscribed)
            ? string.Concat(epoch, ":", e.Offset.ToString(CultureInfo.InvariantCulture))
            : null,
        ReconnectionInterval = first ? Retry : null,
    };

    /// <summary>The item formatter: the event's JSON bytes as they are (compact JSON has no raw newline).</summary>
    internal static void Format(SseItem<ChannelEvent> item, IBufferWriter<byte> writer) => writer.Write(item.Data.Utf8Json.Span);

    /// <summary>The heartbeat frame of <paramref name="channel"/>: <c>{ "channel", "type": "heartbeat" }</c>, no position.</summary>
    internal static ChannelEvent Heartbeat(string channel) =>
        ChannelEvent.Parse(Encoding.UTF8.GetBytes($$"""{"channel":"{{channel}}","type":"{{StreamerFrameTypes.Heartbeat}}"}"""), channel);

    // Yields every queued event, flushes once when the queue is empty, then waits. Heartbeats only when idle.
    private static async IAsyncEnumerable<SseItem<ChannelEvent>> Items(
        PipeWriter writer, string channel, OutgoingFrames events, DeliveryTrace delivery, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var first = true;
        ChannelEvent? heartbeat = null;
        do
        {
            var wrote = false;
            ChannelEvent? last = null;
            while (events.TryRead(out var e))
            {
                yield return Item(e, first);
                first = false;
                wrote = true;
                last = e;
            }
            if (last is not null)
            {
                delivery.Written(last); // once per written batch
            }
            if (events.TakeHeartbeat() && !wrote)
            {
                yield return Item(heartbeat ??= Heartbeat(channel), first);
                first = false;
                wrote = true;
            }
            if (wrote && (await writer.FlushAsync(cancellationToken)).IsCompleted)
            {
                yield break;
            }
        }
        while (await events.WaitToReadAsync(cancellationToken));
        // ended after a resubscribe frame: the client reconnects with Last-Event-ID
    }

    /// <summary>
    /// A write-only stream over the response's <see cref="PipeWriter"/> that copies writes into the pipe and ignores
    /// flushes: the item source flushes the pipe itself once per batch.
    /// </summary>
    private sealed class BatchingStream(PipeWriter writer) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(ReadOnlySpan<byte> buffer) => writer.Write(buffer);
        public override void Write(byte[] buffer, int offset, int count) => writer.Write(buffer.AsSpan(offset, count));

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            writer.Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            writer.Write(buffer.AsSpan(offset, count));
            return Task.CompletedTask;
        }

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
