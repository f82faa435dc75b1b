using System.ComponentModel.DataAnnotations;

namespace AiStreaming.Channels;

/// <summary>History bounds of channels, bound from the <c>Channels</c> configuration section.</summary>
public sealed class ChannelOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Channels";

    /// <summary>
    /// Events kept per channel. Trimming is approximate (<c>XADD MAXLEN ~</c>, whole stream nodes of
    /// <c>stream-node-max-entries</c>, 100 by default), so a few more may be kept. Default 5000.
    /// </summary>
    [Range(10, 1_000_000)]
    public int HistoryMaxEntries { get; set; } = 5000;

    /// <summary>How long history is kept after the last publish while a message streams. Default 1 h.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan HistoryTtl { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long history is kept after a message ends (completed, failed, cancelled). Default 10 min.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan CompletedHistoryTtl { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Longest wait for one publish or history read before it is abandoned with a <see cref="TimeoutException"/>,
    /// on top of StackExchange.Redis's own timeouts: callers may hold locks (an outbox row) while they wait, so no
    /// call may hang. Default 5 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a publish waits for others to share its Redis round trip: publishes of all channels that arrive within
    /// this window after the first are sent as one pipelined batch (one write, one read, one wake-up for all of them),
    /// each still its own atomic script call. Adds at most this much latency (and timer slack, about 1 ms on Linux) to
    /// a token; zero sends each publish at once. Default 1 ms: far below a display refresh (16.7 ms at 60 Hz).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:00.100")]
    public TimeSpan PublishBatchWindow { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// How long a channel's epoch and top offset are kept after the last publish. Longer than history so that a
    /// client whose history expired learns it (same epoch, missing offsets) rather than seeing a new epoch. Default 24 h.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan MetaTtl { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Live events go over sharded pub/sub (<c>SPUBLISH</c>/<c>SSUBSCRIBE</c>, Redis 7.0 or later) instead of classic
    /// <c>PUBLISH</c>/<c>SUBSCRIBE</c>. On a Redis Cluster a classic publish reaches every node over the cluster bus, so
    /// pub/sub cannot scale past one node; a sharded one stays on the shard that owns the channel's slot, the slot of
    /// its keys (Redis documentation, "Sharded Pub/Sub"). Every publisher and streamer of a deployment must agree: a
    /// sharded publish never reaches a classic subscriber. Default <see langword="false"/>; the AppHost turns it on
    /// when it runs a cluster.
    /// </summary>
    public bool ShardedPubSub { get; set; }
}
