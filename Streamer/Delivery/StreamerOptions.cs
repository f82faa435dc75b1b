using System.ComponentModel.DataAnnotations;

namespace AiStreaming.Streamer.Delivery;

/// <summary>Limits of the streamer tier, bound from the <c>Streamer</c> configuration section.</summary>
public sealed class StreamerOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Streamer";

    /// <summary>
    /// Live events buffered per subscriber before backpressure applies (consecutive deltas of one message are then
    /// coalesced; anything else drops the subscriber with a <c>resubscribe</c> hint). Default 256 events.
    /// </summary>
    [Range(8, 100_000)]
    public int SubscriberBufferCapacity { get; set; } = 256;

    /// <summary>Largest text a coalesced delta may grow to before the subscriber is dropped instead. Default 65536 chars.</summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxCoalescedChars { get; set; } = 64 * 1024;

    /// <summary>
    /// Longest time a subscriber's oldest undelivered event may wait (its connection is not draining: the client stopped
    /// reading). Past it the subscription ends with <c>resubscribe{slow_consumer}</c> and the connection is aborted,
    /// so the client reconnects and recovers from its last offset. Also SignalR's WebSocket send timeout. A client is
    /// cut off within this time after its socket buffers fill. Default 5 s (Centrifugo: 1 MB client queue).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan SlowConsumerTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Presence counts are published at most once per this interval per channel and node, and only after a join or leave
    /// on that node, so N clients joining a channel cost O(N) frames in all rather than O(N²). Default 1 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan PresenceInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Whether every join and leave is also published as a <c>presence.join</c>/<c>presence.leave</c> event to the
    /// channel's watchers (O(N²) frames when N clients join). Default <see langword="false"/>: watchers get the coalesced
    /// <c>presence</c> count only (Centrifugo: join/leave is off unless enabled).
    /// </summary>
    public bool PresenceJoinLeave { get; set; }

    /// <summary>
    /// Kernel send buffer of each client socket (<c>SO_SNDBUF</c>, set on the listening socket and inherited; Linux
    /// doubles it for bookkeeping), in bytes; 0 keeps the kernel's autotuning (up to <c>tcp_wmem</c>'s maximum, 4 MiB on
    /// Debian). A fixed buffer bounds what a client that stopped reading pins in the kernel, and lets
    /// <see cref="SlowConsumerTimeout"/> cut it off seconds after it stopped rather than once megabytes queued. Token
    /// streams need little: 64 KiB carries ~1 MiB/s at a 60 ms round trip. Default 65536.
    /// </summary>
    [Range(0, 64 * 1024 * 1024)]
    public int SocketSendBufferBytes { get; set; } = 64 * 1024;

    /// <summary>Most history events replayed on subscribe. Larger gaps are not recovered (the client reloads from the Api). Default 10000.</summary>
    [Range(1, 1_000_000)]
    public int MaxReplayEvents { get; set; } = 10_000;

    /// <summary>Subscriptions one SignalR connection may hold at once. Default 32.</summary>
    [Range(1, 10_000)]
    public int MaxSubscriptionsPerConnection { get; set; } = 32;

    /// <summary>Interval of SSE heartbeat comments. Default 15 s (below the 30–60 s idle timeouts common in proxies and load balancers).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan SseHeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a watcher stays in presence without a refresh (refreshed every third of it). Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan PresenceTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Name of this streamer replica, reported in <c>subscribed</c> frames (<c>data.node</c>) so clients and operators
    /// can tell which node serves a subscription. Default <c>{machine}:{process id}</c>.
    /// </summary>
    [Required]
    public string NodeId { get; set; } = $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <summary>
    /// How often subscriptions suspended by a Redis outage (<c>reconnecting</c>) try Redis again; they resume within
    /// about this long after Redis answers. Default 500 ms.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:30")]
    public TimeSpan RedisRetryInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// While this replica has subscribers, how often it <c>PING</c>s Redis on the pub/sub connection, and how long it
    /// waits for the answer: an outage without a socket error (a hung server, a lost network) is noticed within about
    /// twice this (a closed connection at once). Default 1 s, so subscribers hear <c>reconnecting</c> within 2 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan RedisProbeInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// On SIGTERM, how long this replica keeps serving after its readiness check (<c>/health</c>) turned unhealthy, so
    /// a load balancer that probes readiness at least this often stops sending it new connections; then every
    /// subscription ends with <c>resubscribe{shutdown}</c> and the process stops. Default 2 s; 0 ends them at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan DrainDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Largest SignalR message a client may send. Default 32768 bytes (subscribe calls are tiny).</summary>
    [Range(1024, 1024 * 1024)]
    public long MaximumReceiveMessageSize { get; set; } = 32 * 1024;
}
