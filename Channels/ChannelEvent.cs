using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AiStreaming.Channels;

/// <summary>
/// One event of a channel as clients receive it (JSON on SSE and SignalR).
/// See <c>docs/protocol.md</c> for the <see cref="Data"/> shape of each <see cref="Type"/>.
/// </summary>
/// <remarks>
/// An event parsed from Redis keeps its exact UTF-8 JSON (<see cref="Utf8Json"/>) and reads only the top-level
/// position fields eagerly; <see cref="Data"/> is parsed on first use. The streamer therefore parses each live event
/// once per node and writes the same bytes to every subscriber. Setting any property (including through
/// <c>with</c>) drops the kept JSON, so a modified event is serialized anew.
/// </remarks>
public sealed record ChannelEvent
{
    private ReadOnlyMemory<byte> _utf8;
    private ReadOnlyMemory<byte> _dataUtf8;
    private StrongBox<JsonElement?>? _data; // null while data is still unparsed in _dataUtf8
    private readonly string _channel = "";
    private readonly long _offset;
    private readonly long? _fromOffset;
    private readonly string? _epoch;
    private readonly string _type = "";
    private readonly Guid? _messageId;
    private readonly long _ts;
    private readonly string? _traceparent;

    /// <summary>Channel name, e.g. <c>conv:{id}</c>.</summary>
    public required string Channel { get => _channel; init { _channel = value; Invalidate(); } }

    /// <summary>Offset within <see cref="Epoch"/>: 1, 2, 3… for history events; 0 for ephemeral events (presence, control frames that carry no position).</summary>
    public long Offset { get => _offset; init { _offset = value; Invalidate(); } }

    /// <summary>
    /// First offset this event covers when the streamer coalesced several consecutive deltas for a slow subscriber;
    /// <see langword="null"/> when the event covers only <see cref="Offset"/>.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? FromOffset { get => _fromOffset; init { _fromOffset = value; Invalidate(); } }

    /// <summary>Epoch of the channel's history; offsets of different epochs are unrelated.</summary>
    public string? Epoch { get => _epoch; init { _epoch = value; Invalidate(); } }

    /// <summary>Event type, one of <see cref="ChannelEventTypes"/>.</summary>
    public required string Type { get => _type; init { _type = value; Invalidate(); } }

    /// <summary>Message the event belongs to, when it belongs to one.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Guid? MessageId { get => _messageId; init { _messageId = value; Invalidate(); } }

    /// <summary>Type-specific payload (a JSON object); parsed on first read for events parsed from JSON.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? Data
    {
        get
        {
            var box = Volatile.Read(ref _data);
            if (box is null)
            {
                if (_dataUtf8.IsEmpty)
                {
                    return null;
                }
                var reader = new Utf8JsonReader(_dataUtf8.Span);
                box = new StrongBox<JsonElement?>(JsonElement.ParseValue(ref reader));
                Volatile.Write(ref _data, box); // a racing reader parses the same bytes: benign
            }
            return box.Value;
        }
        init
        {
            _data = new StrongBox<JsonElement?>(value);
            _dataUtf8 = default;
            Invalidate();
        }
    }

    /// <summary>Publish time, Unix ms.</summary>
    public long Ts { get => _ts; init { _ts = value; Invalidate(); } }

    /// <summary>W3C trace context of the publishing operation, so delivery can join the producer's trace.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Traceparent { get => _traceparent; init { _traceparent = value; Invalidate(); } }

    /// <summary>
    /// The exact JSON this event was parsed from, or <see langword="null"/> for an event built or modified in code
    /// (see <see cref="ToJson"/> for its serialization).
    /// </summary>
    [JsonIgnore]
    public string? RawJson => _utf8.IsEmpty ? null : Encoding.UTF8.GetString(_utf8.Span);

    /// <summary>
    /// The event's JSON as UTF-8 bytes: the parsed bytes when the event came from JSON, otherwise serialized once
    /// (camelCase, nulls omitted) and kept. Safe to read from several threads.
    /// </summary>
    [JsonIgnore]
    public ReadOnlyMemory<byte> Utf8Json
    {
        get
        {
            if (_utf8.IsEmpty)
            {
                _utf8 = JsonSerializer.SerializeToUtf8Bytes(this, ChannelJsonContext.Default.ChannelEvent);
            }
            return _utf8;
        }
    }

    /// <summary>The text of a <c>delta</c> event (<c>data.text</c>), or <see langword="null"/>; reads only this event's own payload.</summary>
    [JsonIgnore]
    public string? DeltaText
    {
        get
        {
            if (_type != ChannelEventTypes.Delta)
            {
                return null;
            }
            if (Volatile.Read(ref _data) is null && !_dataUtf8.IsEmpty)
            {
                return ReadTextProperty(_dataUtf8.Span);
            }
            return Data is { ValueKind: JsonValueKind.Object } d && d.TryGetProperty("text", out var t) ? t.GetString() : null;
        }
    }

    /// <summary>Parses an event published by <see cref="ChannelPublisher"/>.</summary>
    /// <param name="json">Event JSON.</param>
    /// <returns>The event, with <see cref="RawJson"/> set.</returns>
    /// <exception cref="JsonException">The JSON is not an event.</exception>
    public static ChannelEvent Parse(string json) => Parse(Encoding.UTF8.GetBytes(json));

    /// <summary>
    /// Parses an event from UTF-8 JSON, reading the top-level fields and keeping <paramref name="utf8"/> (not copied:
    /// the caller must not reuse the buffer). <c>data</c> is parsed on first use of <see cref="Data"/>.
    /// </summary>
    /// <param name="utf8">Event JSON.</param>
    /// <param name="knownChannel">The channel name expected in the event, reused instead of allocating a copy.</param>
    /// <returns>The event.</returns>
    /// <exception cref="JsonException">The JSON is not an event object with <c>channel</c> and <c>type</c>.</exception>
    public static ChannelEvent Parse(ReadOnlyMemory<byte> utf8, string? knownChannel = null)
    {
        var reader = new Utf8JsonReader(utf8.Span);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("An event must be a JSON object.");
        }
        string? channel = null, epoch = null, type = null, traceparent = null;
        long offset = 0, ts = 0;
        long? fromOffset = null;
        Guid? messageId = null;
        ReadOnlyMemory<byte> data = default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("channel"u8))
            {
                reader.Read();
                channel = knownChannel is not null && reader.ValueTextEquals(knownChannel) ? knownChannel : reader.GetString();
            }
            else if (reader.ValueTextEquals("offset"u8))
            {
                reader.Read();
                offset = reader.GetInt64();
            }
            else if (reader.ValueTextEquals("fromOffset"u8))
            {
                reader.Read();
                fromOffset = reader.TokenType == JsonTokenType.Null ? null : reader.GetInt64();
            }
            else if (reader.ValueTextEquals("epoch"u8))
            {
                reader.Read();
                epoch = reader.GetString();
            }
            else if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                type = ChannelEventTypes.Intern(ref reader);
            }
            else if (reader.ValueTextEquals("messageId"u8))
            {
                reader.Read();
                messageId = reader.TokenType == JsonTokenType.Null ? null : reader.GetGuid();
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                data = reader.TokenType == JsonTokenType.Null ? default : utf8[start..(int)reader.BytesConsumed];
            }
            else if (reader.ValueTextEquals("ts"u8))
            {
                reader.Read();
                ts = reader.GetInt64();
            }
            else if (reader.ValueTextEquals("traceparent"u8))
            {
                reader.Read();
                traceparent = reader.GetString();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        if (channel is null || type is null)
        {
            throw new JsonException("An event needs 'channel' and 'type'.");
        }
        return new ChannelEvent
        {
            Channel = channel, Offset = offset, FromOffset = fromOffset, Epoch = epoch, Type = type, MessageId = messageId,
            Ts = ts, Traceparent = traceparent,
        }.WithParsedJson(utf8, data);
    }

    /// <summary>Serializes the event (camelCase, nulls omitted); returns <see cref="RawJson"/> when set.</summary>
    public string ToJson() => Encoding.UTF8.GetString(Utf8Json.Span);

    /// <summary>Makes a payload object for <see cref="Data"/>.</summary>
    /// <param name="value">Any JSON-serializable value; serialized with web defaults (camelCase).</param>
    public static JsonElement ToData<T>(T value) => JsonSerializer.SerializeToElement(value, ChannelJsonContext.WebOptions);

    /// <summary>The payload of a <c>delta</c>: <c>{ "text": … }</c>.</summary>
    /// <param name="text">The delta's text.</param>
    public static JsonElement DeltaData(string text) =>
        JsonSerializer.SerializeToElement(new DeltaPayload(text), ChannelJsonContext.Default.DeltaPayload);

    private ChannelEvent WithParsedJson(ReadOnlyMemory<byte> utf8, ReadOnlyMemory<byte> data)
    {
        _utf8 = utf8;
        _dataUtf8 = data;
        _data = null;
        return this;
    }

    private void Invalidate() => _utf8 = default;

    private static string? ReadTextProperty(ReadOnlySpan<byte> data)
    {
        var reader = new Utf8JsonReader(data);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isText = reader.ValueTextEquals("text"u8);
            reader.Read();
            if (isText)
            {
                return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            reader.Skip();
        }
        return null;
    }
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

    /// <summary>The generation was cancelled; data: <c>{ text, reason }</c> with the partial text; reason <c>user</c> or <c>abandoned</c>.</summary>
    public const string MessageCancelled = "message.cancelled";

    /// <summary>The reply waits for a model slot (admission control); data: <c>{ position }</c>, 1 = next. In history.</summary>
    public const string MessageQueued = "message.queued";

    /// <summary>
    /// Another Api process took the reply over after its owner stopped and continues it at the next offset; data:
    /// <c>{ takeover, textLength }</c> (the n-th takeover of this message; the length of the text streamed so far, which
    /// the following deltas continue). A status: the text so far stays and no delta is repeated. In history.
    /// </summary>
    public const string MessageResumed = "message.resumed";

    /// <summary>
    /// How many watch the channel now, across replicas; data: <c>{ count }</c>. Ephemeral (offset 0). Sent at most once
    /// per <c>Streamer:PresenceInterval</c> per channel, only when the count changed: N joins cost O(N) frames in all.
    /// </summary>
    public const string Presence = "presence";

    /// <summary>A client started watching the channel (sent only to subscribers that asked for join/leave events); data: <c>{ clientId, count }</c>. Ephemeral (offset 0).</summary>
    public const string PresenceJoin = "presence.join";

    /// <summary>A client stopped watching the channel (sent only to subscribers that asked for join/leave events); data: <c>{ clientId, count }</c>. Ephemeral (offset 0).</summary>
    public const string PresenceLeave = "presence.leave";

    /// <summary>Control frame, first of every subscription; data: <c>{ recovered }</c>, position = where the client is after it.</summary>
    public const string Subscribed = "subscribed";

    /// <summary>Control frame: the subscription ends; subscribe again from the last processed position. data: <c>{ reason }</c>.</summary>
    public const string Resubscribe = "resubscribe";

    /// <summary>The constant for the type string under <paramref name="reader"/> (no allocation for known types).</summary>
    internal static string Intern(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("delta"u8) ? Delta
        : reader.ValueTextEquals("message.started"u8) ? MessageStarted
        : reader.ValueTextEquals("message.completed"u8) ? MessageCompleted
        : reader.ValueTextEquals("message.failed"u8) ? MessageFailed
        : reader.ValueTextEquals("message.cancelled"u8) ? MessageCancelled
        : reader.ValueTextEquals("message.resumed"u8) ? MessageResumed
        : reader.ValueTextEquals("presence"u8) ? Presence
        : reader.ValueTextEquals("presence.join"u8) ? PresenceJoin
        : reader.ValueTextEquals("presence.leave"u8) ? PresenceLeave
        : reader.GetString()!;

    /// <summary>Whether an event of this type ends a message (completed, failed or cancelled).</summary>
    /// <param name="type">Event type.</param>
    public static bool IsTerminal(string type) => type is MessageCompleted or MessageFailed or MessageCancelled;
}

/// <summary>Source-generated JSON metadata for the wire types (camelCase, nulls omitted where marked).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ChannelEvent))]
[JsonSerializable(typeof(PublishedBody))]
[JsonSerializable(typeof(DeltaPayload))]
internal sealed partial class ChannelJsonContext : JsonSerializerContext
{
    /// <summary>Web defaults (camelCase) used for event payloads.</summary>
    public static JsonSerializerOptions WebOptions { get; } = new(JsonSerializerDefaults.Web);
}

/// <summary>The payload of a delta event.</summary>
/// <param name="Text">The text fragment.</param>
internal sealed record DeltaPayload(string Text);

/// <summary>An event as handed to the publish script: everything but the position, which the script adds.</summary>
internal sealed record PublishedBody(
    string Channel,
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Guid? MessageId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonElement? Data,
    long Ts,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Traceparent);
