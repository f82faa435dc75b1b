using StackExchange.Redis;

namespace AiStreaming.Channels;

/// <summary>A channel's position and the history after a requested offset, read in one atomic step.</summary>
/// <param name="Epoch">Current epoch, or <see langword="null"/> when the channel has no meta (never published, or expired).</param>
/// <param name="TopOffset">Offset of the newest event (0 when none).</param>
/// <param name="Events">Events with offsets greater than the requested one still held in history, in offset order.</param>
public sealed record HistorySnapshot(string? Epoch, long TopOffset, IReadOnlyList<ChannelEvent> Events);

/// <summary>Reads channel positions and history (<c>XRANGE</c> by offset) for recovery.</summary>
/// <param name="redis">Redis connection.</param>
/// <param name="timeout">Longest wait for one read (<see cref="ChannelOptions.OperationTimeout"/>).</param>
public sealed class ChannelHistory(IConnectionMultiplexer redis, TimeSpan timeout)
{
    // KEYS[1] stream, KEYS[2] meta. ARGV[1] first offset wanted, ARGV[2] max entries (0 = position only).
    // One script, so that the position and the entries are consistent with each other.
    private const string ReadScript = """
        local meta = redis.call('HMGET', KEYS[2], 'epoch', 'offset')
        local entries = {}
        if meta[1] and tonumber(ARGV[2]) > 0 then
          entries = redis.call('XRANGE', KEYS[1], ARGV[1] .. '-0', '+', 'COUNT', ARGV[2])
        end
        return {meta[1], meta[2], entries}
        """;

    /// <summary>
    /// Reads the channel's epoch, its top offset and up to <paramref name="maxEntries"/> events from
    /// <paramref name="afterOffset"/> + 1 onwards.
    /// </summary>
    /// <param name="channel">The channel.</param>
    /// <param name="afterOffset">Last offset the reader already has (0 for all history).</param>
    /// <param name="maxEntries">Maximum events to return; 0 reads the position only.</param>
    /// <returns>The snapshot.</returns>
    /// <exception cref="RedisException">Redis is unreachable.</exception>
    /// <exception cref="TimeoutException">No answer within the timeout.</exception>
    public async Task<HistorySnapshot> ReadAsync(ChannelName channel, long afterOffset, int maxEntries)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(afterOffset);
        ArgumentOutOfRangeException.ThrowIfNegative(maxEntries);
        var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(
            ReadScript, [channel.StreamKey, channel.MetaKey], [afterOffset + 1, maxEntries]).WaitAsync(timeout))!;
        return ToSnapshot(result);
    }

    /// <summary>Reads a script's <c>{epoch, offset, XRANGE entries}</c> answer.</summary>
    /// <param name="result">The answer.</param>
    internal static HistorySnapshot ToSnapshot(RedisResult[] result)
    {
        var epoch = result[0].IsNull ? null : (string?)result[0];
        var top = result[1].IsNull ? 0 : (long)result[1];
        var entries = (RedisResult[])result[2]!;
        var events = new List<ChannelEvent>(entries.Length);
        foreach (var entry in entries)
        {
            // Each entry is [id, [field, value, …]] with the single field "e" holding the event JSON.
            var fields = (RedisResult[])((RedisResult[])entry!)[1]!;
            events.Add(ChannelEvent.Parse((byte[])fields[1]!));
        }
        return new HistorySnapshot(epoch, top, events);
    }
}
