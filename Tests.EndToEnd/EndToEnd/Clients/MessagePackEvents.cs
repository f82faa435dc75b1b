using System.Text.Json;
using AiStreaming.Channels;

namespace AiStreaming.Tests.EndToEnd;

/// <summary>
/// Turns an event received over the hub's MessagePack protocol (streamed as <see cref="object"/>: a map with the same
/// keys and values as the JSON event, docs/protocol.md) back into a <see cref="ChannelEvent"/>, by writing the map as
/// JSON: what a MessagePack client sees must equal what a JSON client sees.
/// </summary>
public static class MessagePackEvents
{
    /// <summary>Converts one streamed item.</summary>
    /// <exception cref="FormatException">The item is not a map.</exception>
    public static ChannelEvent ToChannelEvent(object? item)
    {
        if (item is not IDictionary<object, object?> map)
        {
            throw new FormatException($"Expected a MessagePack map, got {item?.GetType().Name ?? "null"}.");
        }
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            Write(writer, map);
        }
        return ChannelEvent.Parse(buffer.ToArray());
    }

    private static void Write(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case string s:
                writer.WriteStringValue(s);
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case IDictionary<object, object?> map:
                writer.WriteStartObject();
                foreach (var (key, item) in map)
                {
                    writer.WritePropertyName(Convert.ToString(key, System.Globalization.CultureInfo.InvariantCulture)!);
                    Write(writer, item);
                }
                writer.WriteEndObject();
                break;
            case object[] array:
                writer.WriteStartArray();
                foreach (var item in array)
                {
                    Write(writer, item);
                }
                writer.WriteEndArray();
                break;
            case float or double:
                writer.WriteNumberValue(Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
            default:
                writer.WriteNumberValue(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
                break;
        }
    }
}
