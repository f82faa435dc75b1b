using System.Text.Json;

namespace AiStreaming.Streamer.Hubs;

/// <summary>
/// Validates a hub <c>sinceOffset</c> argument as the client sent it: the JSON protocol binds it as a
/// <see cref="JsonElement"/>, MessagePack as a boxed integer, float or string.
/// </summary>
internal static class HubPositions
{
    /// <summary>
    /// Whether <paramref name="value"/> is <see langword="null"/> or a non-negative 64-bit integer (JSON number without
    /// fraction or exponent; any MessagePack integer type). <c>1.5</c>, <c>3.0</c>, <c>"3"</c>, <c>-1</c>,
    /// <c>2^63</c>, objects and arrays are not.
    /// </summary>
    /// <param name="value">The bound argument.</param>
    /// <param name="offset">The offset, or <see langword="null"/> for none.</param>
    public static bool TryParse(object? value, out long? offset)
    {
        offset = null;
        long parsed;
        switch (value)
        {
            case null:
                return true;
            case JsonElement { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined }:
                return true;
            case JsonElement { ValueKind: JsonValueKind.Number } json when IsInteger(json) && json.TryGetInt64(out parsed):
                break;
            case long l:
                parsed = l;
                break;
            case int i:
                parsed = i;
                break;
            case short sh:
                parsed = sh;
                break;
            case sbyte sb:
                parsed = sb;
                break;
            case byte b:
                parsed = b;
                break;
            case ushort us:
                parsed = us;
                break;
            case uint ui:
                parsed = ui;
                break;
            case ulong ul when ul <= long.MaxValue:
                parsed = (long)ul;
                break;
            default:
                return false;
        }
        if (parsed < 0)
        {
            return false;
        }
        offset = parsed;
        return true;
    }

    // "3.0" and "3e0" are numbers but not integers as written.
    private static bool IsInteger(JsonElement json) => json.GetRawText().AsSpan().IndexOfAny('.', 'e', 'E') < 0;
}
