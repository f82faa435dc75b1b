using System.Buffers;
using System.Text;
using AiStreaming.Channels;

namespace AiStreaming.Streamer.Sse;

/// <summary>
/// Writes channel events as Server-Sent Events frames (WHATWG HTML, "Server-sent events"):
/// <c>id: {epoch}:{offset}</c> (events with a position), <c>event: {type}</c>, one <c>data:</c> line with the event JSON,
/// and a blank line. The JSON is the event's own UTF-8 bytes (<see cref="ChannelEvent.Utf8Json"/>, serialized once per
/// node), so a frame costs a copy per subscriber, not a serialization. Event JSON is compact: it has no raw newline.
/// </summary>
internal static class SseFrameWriter
{
    /// <summary>The reconnection delay sent first on every stream: <c>retry: 1000</c> (ms).</summary>
    public static ReadOnlySpan<byte> Retry => "retry: 1000\n\n"u8;

    /// <summary>A comment line that keeps idle connections (and proxies) alive.</summary>
    public static ReadOnlySpan<byte> Heartbeat => ": heartbeat\n\n"u8;

    /// <summary>Writes one frame for <paramref name="e"/> to <paramref name="writer"/>.</summary>
    /// <param name="writer">Destination (e.g. the response's <c>BodyWriter</c>).</param>
    /// <param name="e">The event.</param>
    public static void Write(IBufferWriter<byte> writer, ChannelEvent e)
    {
        if (e.Epoch is { } epoch && (e.Offset > 0 || e.Type == ChannelEventTypes.Subscribed))
        {
            writer.Write("id: "u8);
            WriteAscii(writer, epoch);
            writer.Write(":"u8);
            var span = writer.GetSpan(20);
            e.Offset.TryFormat(span, out var written, provider: System.Globalization.CultureInfo.InvariantCulture);
            writer.Advance(written);
            writer.Write("\n"u8);
        }
        writer.Write("event: "u8);
        WriteAscii(writer, e.Type);
        writer.Write("\ndata: "u8);
        writer.Write(e.Utf8Json.Span);
        writer.Write("\n\n"u8);
    }

    private static void WriteAscii(IBufferWriter<byte> writer, string value)
    {
        var span = writer.GetSpan(Encoding.UTF8.GetMaxByteCount(value.Length));
        writer.Advance(Encoding.UTF8.GetBytes(value, span));
    }
}
