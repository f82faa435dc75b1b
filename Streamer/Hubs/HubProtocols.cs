using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using AiStreaming.Channels;
using MessagePack;
using MessagePack.Formatters;
using MessagePack.Resolvers;
using Microsoft.AspNetCore.SignalR;

namespace AiStreaming.Streamer.Hubs;

/// <summary>
/// Hub protocol settings that write each event's bytes once per node instead of serializing it per connection:
/// JSON clients get the event's own UTF-8 JSON (<see cref="ChannelEvent.Utf8Json"/>) written raw; MessagePack clients
/// get a MessagePack map with the same keys and values, transcoded once per event and node and cached beside it.
/// </summary>
internal static class HubProtocols
{
    /// <summary>Adds the JSON (raw event bytes) and MessagePack protocols to SignalR.</summary>
    public static ISignalRServerBuilder AddChannelEventProtocols(this ISignalRServerBuilder signalR) =>
        signalR
            .AddJsonProtocol(o => o.PayloadSerializerOptions.Converters.Insert(0, new RawChannelEventJsonConverter()))
            .AddMessagePackProtocol(o => o.SerializerOptions = MessagePackSerializerOptions.Standard
                .WithResolver(CompositeResolver.Create([new ChannelEventMessagePackFormatter()], [ContractlessStandardResolver.Instance]))
                .WithSecurity(MessagePackSecurity.UntrustedData));

    /// <summary>Writes a <see cref="ChannelEvent"/> as its kept JSON bytes; reads through the wire contract.</summary>
    private sealed class RawChannelEventJsonConverter : JsonConverter<ChannelEvent>
    {
        public override ChannelEvent? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            using var document = JsonDocument.ParseValue(ref reader);
            return ChannelEvent.Parse(document.RootElement.GetRawText());
        }

        public override void Write(Utf8JsonWriter writer, ChannelEvent value, JsonSerializerOptions options) =>
            writer.WriteRawValue(value.Utf8Json.Span, skipInputValidation: true);
    }

    /// <summary>
    /// Writes a <see cref="ChannelEvent"/> as a MessagePack map (JSON objects → maps, numbers → integers or floats,
    /// strings → strings; <c>messageId</c> stays a string), cached per event so N subscribers cost one transcoding.
    /// </summary>
    private sealed class ChannelEventMessagePackFormatter : IMessagePackFormatter<ChannelEvent?>
    {
        private static readonly ConditionalWeakTable<ChannelEvent, byte[]> Cache = [];

        public void Serialize(ref MessagePackWriter writer, ChannelEvent? value, MessagePackSerializerOptions options)
        {
            if (value is null)
            {
                writer.WriteNil();
                return;
            }
            writer.WriteRaw(Cache.GetValue(value, static e => Transcode(e.Utf8Json)));
        }

        public ChannelEvent? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options) =>
            throw new NotSupportedException("Channel events are sent to clients, never received from them.");

        private static byte[] Transcode(ReadOnlyMemory<byte> json)
        {
            using var document = JsonDocument.Parse(json);
            var buffer = new ArrayBufferWriter<byte>(json.Length);
            var writer = new MessagePackWriter(buffer);
            Write(ref writer, document.RootElement);
            writer.Flush();
            return buffer.WrittenSpan.ToArray();
        }

        private static void Write(ref MessagePackWriter writer, JsonElement element)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    var count = 0;
                    foreach (var _ in element.EnumerateObject())
                    {
                        count++;
                    }
                    writer.WriteMapHeader(count);
                    foreach (var property in element.EnumerateObject())
                    {
                        writer.Write(property.Name);
                        Write(ref writer, property.Value);
                    }
                    break;
                case JsonValueKind.Array:
                    writer.WriteArrayHeader(element.GetArrayLength());
                    foreach (var item in element.EnumerateArray())
                    {
                        Write(ref writer, item);
                    }
                    break;
                case JsonValueKind.String:
                    writer.Write(element.GetString());
                    break;
                case JsonValueKind.Number when element.TryGetInt64(out var integer):
                    writer.Write(integer);
                    break;
                case JsonValueKind.Number:
                    writer.Write(element.GetDouble());
                    break;
                case JsonValueKind.True:
                    writer.Write(true);
                    break;
                case JsonValueKind.False:
                    writer.Write(false);
                    break;
                default:
                    writer.WriteNil();
                    break;
            }
        }
    }
}
