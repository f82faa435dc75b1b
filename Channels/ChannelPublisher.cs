using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text.Json;
using StackExchange.Redis;

namespace AiStreaming.Channels;

/// <summary>
/// The fence of a generation's publishes: the message whose events they are and which run of its generation publishes
/// them (0 for the first, n after the n-th takeover). <see cref="ChannelFence"/> raises a message's fence when another
/// process takes it over; from then on the publish script refuses every event of that message carrying a lower one.
/// </summary>
/// <param name="MessageId">The message.</param>
/// <param name="Run">The run: 0 for the generation that began the message, then one more per takeover.</param>
public readonly record struct PublishFence(Guid MessageId, long Run)
{
    /// <summary>The meta hash field holding the message's current fence.</summary>
    internal string Field => $"fence:{MessageId:D}";
}

/// <summary>A publish was refused because another process took the message over (<see cref="PublishFence"/>); nothing was published.</summary>
/// <param name="fence">The stale fence.</param>
public sealed class ChannelFencedException(PublishFence fence)
    : Exception($"Message {fence.MessageId} was taken over: run {fence.Run} may no longer publish to its channel.")
{
    /// <summary>The stale fence.</summary>
    public PublishFence Fence { get; } = fence;
}

/// <summary>The position an event was published at.</summary>
/// <param name="Epoch">The channel's epoch.</param>
/// <param name="Offset">The event's offset within the epoch (1-based).</param>
public readonly record struct ChannelPosition(string Epoch, long Offset);

/// <summary>
/// Publishes channel events with one atomic Lua script, after Centrifugo's Redis engine: create the meta with a new
/// epoch if absent (dropping any stale stream), <c>HINCRBY</c> the offset, <c>XADD</c> with the offset as the entry id
/// (<c>MAXLEN ~</c>), <c>EXPIRE</c> stream and meta, and <c>PUBLISH</c> the same JSON to live subscribers
/// (<c>SPUBLISH</c> with <see cref="ChannelOptions.ShardedPubSub"/>). A publish with a <see cref="PublishFence"/> is
/// refused, in the same script, when the message's fence in the meta is higher (the message was taken over).
/// Any backend that can run this script can stream through the streamer tier. Calls of all channels share pipelined
/// round trips (<see cref="ChannelOptions.PublishBatchWindow"/>).
/// </summary>
/// <param name="redis">Redis connection.</param>
/// <param name="options">History bounds.</param>
public sealed class ChannelPublisher(IConnectionMultiplexer redis, ChannelOptions options)
{
    private static readonly JsonEncodedText ChannelProperty = JsonEncodedText.Encode("channel");
    private static readonly JsonEncodedText TypeProperty = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText MessageIdProperty = JsonEncodedText.Encode("messageId");
    private static readonly JsonEncodedText DataProperty = JsonEncodedText.Encode("data");
    private static readonly JsonEncodedText TextProperty = JsonEncodedText.Encode("text");
    private static readonly JsonEncodedText TsProperty = JsonEncodedText.Encode("ts");
    private static readonly JsonEncodedText TraceparentProperty = JsonEncodedText.Encode("traceparent");
    private static readonly JsonEncodedText DeltaType = JsonEncodedText.Encode(ChannelEventTypes.Delta);

    // Epoch candidates: a random 48-bit start per process, then a bijection of a counter (odd multiplier mod 2^48), so
    // every call gets a distinct candidate without a call into the system's random source per event.
    private static readonly long EpochStart = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8));
    private static long _epochCounter;

    private readonly PublishBatcher _batcher = new(redis, options.PublishBatchWindow);
    private readonly ConditionalWeakTable<ChannelName, Target> _targets = [];
    private readonly RedisValue _maxEntries = options.HistoryMaxEntries;
    private readonly (RedisValue Stream, RedisValue Meta) _liveTtl = Ttls(options, options.HistoryTtl);
    private readonly (RedisValue Stream, RedisValue Meta) _terminalTtl = Ttls(options, options.CompletedHistoryTtl);

    // KEYS[1] stream, KEYS[2] meta. ARGV[1] pub/sub channel, ARGV[2] event JSON without offset/epoch (an object),
    // ARGV[3] max entries, ARGV[4] stream TTL s, ARGV[5] meta TTL s, ARGV[6] epoch to use if the meta is new
    // (Redis seeds Lua's math.random identically on every call, so the caller supplies the randomness), ARGV[7] the
    // meta field of the message's fence ('' or absent for none, so publishers of six arguments keep working), ARGV[8] the
    // publisher's run. Fenced: returns {0, ''}.
    internal const string PublishScript = """
        if ARGV[7] and ARGV[7] ~= '' then
          local fence = redis.call('HGET', KEYS[2], ARGV[7])
          if fence and tonumber(fence) > tonumber(ARGV[8]) then
            return {0, ''}
          end
        end
        local epoch = redis.call('HGET', KEYS[2], 'epoch')
        if not epoch then
          epoch = ARGV[6]
          redis.call('HSET', KEYS[2], 'epoch', epoch)
          redis.call('DEL', KEYS[1])
        end
        local offset = redis.call('HINCRBY', KEYS[2], 'offset', 1)
        local event = '{"offset":' .. offset .. ',"epoch":"' .. epoch .. '",' .. string.sub(ARGV[2], 2)
        redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], offset .. '-0', 'e', event)
        redis.call('EXPIRE', KEYS[1], ARGV[4])
        redis.call('EXPIRE', KEYS[2], ARGV[5])
        redis.call('PUBLISH', ARGV[1], event)
        return {offset, epoch}
        """;

    /// <summary><see cref="PublishScript"/> with <c>SPUBLISH</c>: the channel shares the keys' hash tag, so its slot.</summary>
    internal static readonly string ShardedPublishScript = PublishScript.Replace("'PUBLISH'", "'SPUBLISH'", StringComparison.Ordinal);

    /// <summary>
    /// Publishes an event with the next offset of its channel.
    /// </summary>
    /// <param name="channel">Target channel.</param>
    /// <param name="type">Event type (<see cref="ChannelEventTypes"/>).</param>
    /// <param name="messageId">Message the event belongs to.</param>
    /// <param name="data">Payload object (see docs/protocol.md).</param>
    /// <param name="fence">The publishing run of a generation, or <see langword="null"/> for an unfenced event (outbox, presence).</param>
    /// <returns>The epoch and offset assigned.</returns>
    /// <exception cref="ChannelFencedException">The message was taken over by a later run; nothing was published.</exception>
    /// <exception cref="RedisException">Redis is unreachable or the script failed; nothing was published.</exception>
    /// <exception cref="TimeoutException">No answer within <see cref="ChannelOptions.OperationTimeout"/>: the event may or may not have been published.</exception>
    public async Task<ChannelPosition> PublishAsync(ChannelName channel, string type, Guid? messageId, JsonElement? data, PublishFence? fence = null)
    {
        var body = new PublishedBody(
            channel.Value, type, messageId, data, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Activity.Current?.Id);
        // The script splices "offset" and "epoch" in front of the body's first property.
        var json = JsonSerializer.SerializeToUtf8Bytes(body, ChannelJsonContext.Default.PublishedBody);
        return await EvaluateAsync(channel, ChannelEventTypes.IsTerminal(type), json, fence);
    }

    /// <summary>
    /// Publishes a <c>delta</c> <c>{ text }</c> of <paramref name="messageId"/> with the next offset of its channel: the
    /// same event as <see cref="PublishAsync"/> would, its JSON written straight to UTF-8 (the hot path: one per rolled-up
    /// delta).
    /// </summary>
    /// <param name="channel">Target channel (keep the same instance for a message: its Redis keys are cached by it).</param>
    /// <param name="messageId">Message the text belongs to.</param>
    /// <param name="text">The delta's text.</param>
    /// <param name="fence">The publishing run of the generation, or <see langword="null"/> for an unfenced event.</param>
    /// <returns>The epoch and offset assigned.</returns>
    /// <exception cref="ChannelFencedException">The message was taken over by a later run; nothing was published.</exception>
    /// <exception cref="RedisException">Redis is unreachable or the script failed; nothing was published.</exception>
    /// <exception cref="TimeoutException">No answer within <see cref="ChannelOptions.OperationTimeout"/>: the event may or may not have been published.</exception>
    public Task<ChannelPosition> PublishDeltaAsync(ChannelName channel, Guid messageId, string text, PublishFence? fence = null)
    {
        var buffer = new ArrayBufferWriter<byte>(128 + text.Length * 3);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString(ChannelProperty, channel.Value);
            writer.WriteString(TypeProperty, DeltaType);
            writer.WriteString(MessageIdProperty, messageId);
            writer.WriteStartObject(DataProperty);
            writer.WriteString(TextProperty, text);
            writer.WriteEndObject();
            writer.WriteNumber(TsProperty, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            if (Activity.Current?.Id is { } traceparent)
            {
                writer.WriteString(TraceparentProperty, traceparent);
            }
            writer.WriteEndObject();
        }
        return EvaluateAsync(channel, terminal: false, buffer.WrittenSpan.ToArray(), fence);
    }

    private async Task<ChannelPosition> EvaluateAsync(ChannelName channel, bool terminal, byte[] json, PublishFence? fence)
    {
        var target = _targets.GetValue(channel, static c => new Target(c));
        var ttl = terminal ? _terminalTtl : _liveTtl;
        var result = (RedisResult[])(await _batcher.EvaluateAsync(
            options.ShardedPubSub ? ShardedPublishScript : PublishScript,
            target.Keys,
            [target.PubSubChannel, json, _maxEntries, ttl.Stream, ttl.Meta, NextEpochCandidate(), fence?.Field ?? "", fence?.Run ?? 0]).WaitAsync(options.OperationTimeout))!;
        var offset = (long)result[0];
        if (offset == 0)
        {
            throw new ChannelFencedException(fence!.Value);
        }
        return new ChannelPosition((string)result[1]!, offset);
    }

    /// <summary>
    /// Publishes an ephemeral event (offset 0, not stored in history) to live subscribers only, e.g. presence.
    /// </summary>
    /// <param name="subscriber">Redis pub/sub client.</param>
    /// <param name="channel">Target channel.</param>
    /// <param name="type">Event type.</param>
    /// <param name="data">Payload.</param>
    /// <param name="sharded">Sharded pub/sub (<see cref="ChannelOptions.ShardedPubSub"/>).</param>
    /// <returns>The number of streamer processes that received it.</returns>
    public static async Task<long> PublishEphemeralAsync(ISubscriber subscriber, ChannelName channel, string type, JsonElement data, bool sharded = false)
    {
        var evt = new ChannelEvent
        {
            Channel = channel.Value,
            Type = type,
            Data = data,
            Ts = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        return await subscriber.PublishAsync(channel.PubSubChannelFor(sharded), evt.Utf8Json);
    }

    /// <summary>A new random epoch: 12 lower-case hex characters (48 bits).</summary>
    public static string NewEpoch() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    // 12 lower-case hex characters, distinct for every call of this process, random across processes.
    private static string NextEpochCandidate()
    {
        var value = (EpochStart + Interlocked.Increment(ref _epochCounter) * 0x9E3779B97F4BL) & 0xFFFF_FFFF_FFFFL;
        return value.ToString("x12", System.Globalization.CultureInfo.InvariantCulture);
    }

    private static (RedisValue Stream, RedisValue Meta) Ttls(ChannelOptions options, TimeSpan ttl) =>
        ((long)Math.Ceiling(ttl.TotalSeconds), (long)Math.Ceiling(Math.Max(options.MetaTtl.TotalSeconds, ttl.TotalSeconds)));

    // A channel's script arguments that never change, made once per channel instance instead of once per event.
    private sealed class Target(ChannelName channel)
    {
        public RedisKey[] Keys { get; } = [channel.StreamKey, channel.MetaKey];

        public RedisValue PubSubChannel { get; } = channel.PubSubChannel.ToString();
    }
}
