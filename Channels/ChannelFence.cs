using StackExchange.Redis;

namespace AiStreaming.Channels;

/// <summary>
/// Takes a message's channel over for a new run of its generation: in one atomic script, raises the message's
/// <see cref="PublishFence"/> in the channel's meta (so the publish script refuses every later event of an earlier
/// run) and reads the channel's position and history from a given offset. Because both happen in one script, the
/// history read holds every event the earlier runs ever published: none can land after it.
/// </summary>
/// <param name="redis">Redis connection.</param>
/// <param name="options">Meta TTL and the longest wait.</param>
public sealed class ChannelFence(IConnectionMultiplexer redis, ChannelOptions options)
{
    // KEYS[1] stream, KEYS[2] meta. ARGV[1] the message's fence field, ARGV[2] the new run, ARGV[3] first offset wanted ('' for none),
    // ARGV[4] meta TTL s (for a meta this script creates: Redis lost the channel, yet the fence must hold).
    private const string ClaimScript = """
        local fence = redis.call('HGET', KEYS[2], ARGV[1])
        if not fence or tonumber(fence) < tonumber(ARGV[2]) then
          redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
        end
        local meta = redis.call('HMGET', KEYS[2], 'epoch', 'offset')
        local entries = {}
        if meta[1] and ARGV[3] ~= '' then
          entries = redis.call('XRANGE', KEYS[1], ARGV[3] .. '-0', '+')
        elseif redis.call('TTL', KEYS[2]) == -1 then
          redis.call('EXPIRE', KEYS[2], ARGV[4])
        end
        return {meta[1], meta[2], entries}
        """;

    /// <summary>
    /// Raises <paramref name="fence"/>'s message to run <see cref="PublishFence.Run"/> (never lowers it) and reads the
    /// channel from <paramref name="fromOffset"/> on.
    /// </summary>
    /// <param name="channel">The message's channel.</param>
    /// <param name="fence">The message and the new run.</param>
    /// <param name="fromOffset">First offset to read (the message's <c>message.started</c>), at least 1; <see langword="null"/> reads no events.</param>
    /// <returns>The channel's epoch and top offset, and its events from <paramref name="fromOffset"/> on.</returns>
    /// <exception cref="RedisException">Redis is unreachable or the script failed.</exception>
    /// <exception cref="TimeoutException">No answer within <see cref="ChannelOptions.OperationTimeout"/>; the fence may or may not be raised.</exception>
    public async Task<HistorySnapshot> ClaimAsync(ChannelName channel, PublishFence fence, long? fromOffset)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(fromOffset ?? 1, 1);
        var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(
            ClaimScript, [channel.StreamKey, channel.MetaKey],
            [fence.Field, fence.Run, fromOffset?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "", (long)Math.Ceiling(options.MetaTtl.TotalSeconds)]).WaitAsync(options.OperationTimeout))!;
        return ChannelHistory.ToSnapshot(result);
    }
}
