using System.Text.Json;
using System.Text.Json.Serialization;

namespace AiStreaming.Channels;

/// <summary>
/// One event of a channel as clients receive it (JSON on SSE and SignalR).
/// See <c>docs/protocol.md</c> for the <see cref="Data"/> shape of each <see cref="Type"/>.
/// </summary>
public sealed record ChannelEvent
{
    /// <summary>Channel name, e.g. <c>conv:{id}</c>.</summary>
    public required string Channel { get; init; }

    /// <summary>Offset within <see cref="Epoch"/>: 1, 2, 3… for history events; 0 for ephemeral events (presence, control frames that carry no position).</summary>
    public long Offset { get; init; }

    /// <summary>
    /// First offset this event covers when the streamer coalesced several consecutive deltas for a slow subscriber;
    /// <see langword="null"/> when the event covers only <see cref="Offset"/>.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? FromOffset { get; init; }

    /// <summary>Epoch of the channel's history; offsets of different epochs are unrelated.</summary>
    public string? Epoch { get; init; }

    /// <summary>Event type, one of <see cref="ChannelEventTypes"/>.</summary>
    public required string Type { get; init; }

    /// <summary>Message the event belongs to, when it belongs to one.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Guid? MessageId { get; init; }

    /// <summary>Type-specific payload (a JSON object).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? Data { get; init; }

    /// <summary>Publish time, Unix ms.</summary>
    public long Ts { get; init; }

    /// <summary>W3C trace context of the publishing operation, so delivery can join the producer's trace.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Traceparent { get; init; }

    /// <summary>
    /// The exact JSON this event was published as (set when parsed from Redis and not modified since), so the SSE
    /// endpoint can forward it without serializing it again.
    /// </summary>
    [JsonIgnore]
    public string? RawJson { get; init; }

    /// <summary>The text of a <c>delta</c> event (<c>data.text</c>), or <see langword="null"/>.</summary>
    [JsonIgnore]
    public string? DeltaText =>
        Type == ChannelEventTypes.Delta && Data is { ValueKind: JsonValueKind.Object } d && d.TryGetProperty("text", out var t)
            ? t.GetString()
            : null;

    /// <summary>Parses an event published by <see cref="ChannelPublisher"/>.</summary>
    /// <param name="json">Event JSON.</param>
    /// <returns>The event, with <see cref="RawJson"/> set.</returns>
    /// <exception cref="JsonException">The JSON is not an event.</exception>
    public static ChannelEvent Parse(string json) =>
        (JsonSerializer.Deserialize(json, ChannelJsonContext.Default.ChannelEvent) ?? throw new JsonException("Empty event.")) with { RawJson = json };

    /// <summary>Serializes the event (camelCase, nulls omitted); returns <see cref="RawJson"/> when set.</summary>
    public string ToJson() => RawJson ?? JsonSerializer.Serialize(this, ChannelJsonContext.Default.ChannelEvent);

    /// <summary>Makes a payload object for <see cref="Data"/>.</summary>
    /// <param name="value">Any JSON-serializable value; serialized with web defaults (camelCase).</param>
    public static JsonElement ToData<T>(T value) => JsonSerializer.SerializeToElement(value, ChannelJsonContext.WebOptions);
}

/// <summary>Values of <see cref="ChannelEvent.Type"/>.</summary>
public static class ChannelEventTypes
{
    /// <summary>An assistant message began; data: <c>{ role, userMessage: { id, content } }</c>.</summary>
    public const string MessageStarted = "message.started";

    /// <summary>A text fragment; data: <c>{ text }</c>. Deltas of a message concatenated in offset order equal its final text.</summary>
    public const string Delta = "delta";

    /// <summary>The message is complete; data: <c>{ text, usage }</c> with the full final text.</summary>
    public const string MessageCompleted = "message.completed";

    /// <summary>The generation failed; data: <c>{ code, message, text }</c> with the partial text.</summary>
    public const string MessageFailed = "message.failed";

    /// <summary>The generation was cancelled; data: <c>{ text }</c> with the partial text.</summary>
    public const string MessageCancelled = "message.cancelled";

    /// <summary>A client started watching the channel; data: <c>{ clientId, count }</c>. Ephemeral (offset 0).</summary>
    public const string PresenceJoin = "presence.join";

    /// <summary>A client stopped watching the channel; data: <c>{ clientId, count }</c>. Ephemeral (offset 0).</summary>
    public const string PresenceLeave = "presence.leave";

    /// <summary>Control frame, first of every subscription; data: <c>{ recovered }</c>, position = where the client is after it.</summary>
    public const string Subscribed = "subscribed";

    /// <summary>Control frame: the subscription ends; subscribe again from the last processed position. data: <c>{ reason }</c>.</summary>
    public const string Resubscribe = "resubscribe";

    /// <summary>Whether an event of this type ends a message (completed, failed or cancelled).</summary>
    /// <param name="type">Event type.</param>
    public static bool IsTerminal(string type) => type is MessageCompleted or MessageFailed or MessageCancelled;
}

/// <summary>Source-generated JSON metadata for the wire types (camelCase, nulls omitted where marked).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ChannelEvent))]
[JsonSerializable(typeof(PublishedBody))]
internal sealed partial class ChannelJsonContext : JsonSerializerContext
{
    /// <summary>Web defaults (camelCase) used for event payloads.</summary>
    public static JsonSerializerOptions WebOptions { get; } = new(JsonSerializerDefaults.Web);
}

/// <summary>An event as handed to the publish script: everything but the position, which the script adds.</summary>
internal sealed record PublishedBody(
    string Channel,
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? MessageId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonElement? Data,
    long Ts,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Traceparent);
