using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using StackExchange.Redis;

namespace AiStreaming.Channels;

/// <summary>
/// A validated channel name such as <c>conv:6f1c…</c> and the Redis keys that hold its state.
/// Keys carry the channel in a hash tag (<c>ais:{conv:ID}:stream</c>) so one channel's keys share a Redis Cluster slot.
/// </summary>
public sealed partial record ChannelName
{
    private ChannelName(string value) => Value = value;

    /// <summary>The channel name, e.g. <c>conv:0d8e5f0e-…</c>.</summary>
    public string Value { get; }

    /// <summary>Redis Stream holding the channel's history (entry id = offset).</summary>
    public RedisKey StreamKey => $"ais:{{{Value}}}:stream";

    /// <summary>Redis hash with the channel's <c>epoch</c> and top <c>offset</c>.</summary>
    public RedisKey MetaKey => $"ais:{{{Value}}}:meta";

    /// <summary>Redis sorted set of the channel's watchers (member = client id, score = expiry in Unix ms).</summary>
    public RedisKey PresenceKey => $"ais:{{{Value}}}:presence";

    /// <summary>Redis pub/sub channel on which live events are published (classic pub/sub).</summary>
    public RedisChannel PubSubChannel => PubSubChannelFor(sharded: false);

    /// <summary>
    /// The pub/sub channel of live events, <c>ais:{conv:ID}</c>: classic or sharded (<see cref="ChannelOptions.ShardedPubSub"/>;
    /// its hash tag puts a sharded channel on the slot of the channel's keys).
    /// </summary>
    /// <param name="sharded">Sharded pub/sub (<c>SPUBLISH</c>/<c>SSUBSCRIBE</c>).</param>
    public RedisChannel PubSubChannelFor(bool sharded) =>
        sharded ? RedisChannel.Sharded($"ais:{{{Value}}}") : RedisChannel.Literal($"ais:{{{Value}}}");

    /// <summary>The channel of a conversation: <c>conv:{id}</c> with the id in lower-case <c>D</c> format.</summary>
    /// <param name="conversationId">Conversation id.</param>
    public static ChannelName ForConversation(Guid conversationId) => new($"conv:{conversationId:D}");

    /// <summary>
    /// Parses a channel name: a lower-case namespace of up to 32 characters, a colon and an id of 1 to 64 characters
    /// from <c>[A-Za-z0-9_-]</c>.
    /// </summary>
    /// <param name="value">Candidate name.</param>
    /// <param name="channel">The parsed channel when valid.</param>
    /// <returns><see langword="true"/> when <paramref name="value"/> is a valid channel name.</returns>
    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out ChannelName? channel)
    {
        channel = value is not null && Pattern().IsMatch(value) ? new ChannelName(value) : null;
        return channel is not null;
    }

    /// <summary>Parses a channel name.</summary>
    /// <param name="value">Candidate name.</param>
    /// <exception cref="FormatException">The name does not match the channel pattern.</exception>
    public static ChannelName Parse(string value) =>
        TryParse(value, out var channel) ? channel : throw new FormatException($"'{value}' is not a valid channel name.");

    /// <inheritdoc/>
    public override string ToString() => Value;

    [GeneratedRegex("^[a-z][a-z0-9_-]{0,31}:[A-Za-z0-9_-]{1,64}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
