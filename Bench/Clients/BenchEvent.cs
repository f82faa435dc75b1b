using System.Text.Json;
using AiStreaming.Channels;

namespace AiStreaming.Bench.Clients;

/// <summary>
/// The fields of a channel event (docs/protocol.md) the bench needs, whatever the transport (SignalR JSON or
/// MessagePack, SSE): type, position, message id, <c>data.text</c>, <c>data.recovered</c>, <c>data.reason</c>.
/// </summary>
/// <param name="Type">Event type, e.g. <c>delta</c>.</param>
/// <param name="Offset">Offset (0 for presence).</param>
/// <param name="FromOffset">First offset of a coalesced delta, or null.</param>
/// <param name="Epoch">Epoch, or null.</param>
/// <param name="MessageId">Message id, or null.</param>
/// <param name="Text"><c>data.text</c> (deltas and terminal events), or null.</param>
/// <param name="Recovered"><c>data.recovered</c> of a <c>subscribed</c> frame.</param>
/// <param name="Reason"><c>data.reason</c> of a <c>resubscribe</c> frame.</param>
public readonly record struct BenchEvent(
    string Type, long Offset, long? FromOffset, string? Epoch, Guid? MessageId, string? Text, bool Recovered, string? Reason)
{
    /// <summary>From the hub's JSON protocol (deserialized as <see cref="ChannelEvent"/>) or an SSE <c>data:</c> line.</summary>
    public static BenchEvent From(ChannelEvent e)
    {
        string? text = null;
        var recovered = false;
        string? reason = null;
        if (e.Data is { ValueKind: JsonValueKind.Object } d)
        {
            if (d.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String) text = t.GetString();
            if (d.TryGetProperty("recovered", out var r) && r.ValueKind is JsonValueKind.True) recovered = true;
            if (d.TryGetProperty("reason", out var s) && s.ValueKind == JsonValueKind.String) reason = s.GetString();
        }
        return new BenchEvent(e.Type, e.Offset, e.FromOffset, e.Epoch, e.MessageId, text, recovered, reason);
    }

    /// <summary>
    /// From the hub's MessagePack protocol, streamed as <see cref="object"/>: a map with the event's camelCase (or
    /// PascalCase) keys; <c>data</c> is a map, or a JSON string.
    /// </summary>
    /// <exception cref="FormatException">The item is not a map with a <c>type</c>.</exception>
    public static BenchEvent FromMessagePack(object? item)
    {
        if (item is not IDictionary<object, object?> map)
        {
            throw new FormatException($"Expected a MessagePack map, got {item?.GetType().Name ?? "null"}.");
        }
        object? Get(IDictionary<object, object?> m, string key) =>
            m.FirstOrDefault(kv => string.Equals(kv.Key as string, key, StringComparison.OrdinalIgnoreCase)).Value;
        long? Long(object? v) => v is null ? null : Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture);
        var type = Get(map, "type") as string ?? throw new FormatException("Event without type.");
        string? text = null;
        var recovered = false;
        string? reason = null;
        switch (Get(map, "data"))
        {
            case IDictionary<object, object?> data:
                text = Get(data, "text") as string;
                recovered = Get(data, "recovered") is true;
                reason = Get(data, "reason") as string;
                break;
            case string json when json.Length > 0:
                var parsed = From(new ChannelEvent { Channel = "", Type = type, Data = JsonDocument.Parse(json).RootElement });
                (text, recovered, reason) = (parsed.Text, parsed.Recovered, parsed.Reason);
                break;
        }
        var messageId = Get(map, "messageId") switch
        {
            string s => Guid.Parse(s),
            byte[] b when b.Length == 16 => new Guid(b),
            Guid g => g,
            _ => (Guid?)null,
        };
        return new BenchEvent(type, Long(Get(map, "offset")) ?? 0, Long(Get(map, "fromOffset")), Get(map, "epoch") as string,
            messageId, text, recovered, reason);
    }
}
