using System.ComponentModel.DataAnnotations;

namespace AiStreaming.Streamer.Auth;

/// <summary>Who may connect and subscribe, bound from the <c>StreamerSecurity</c> configuration section.</summary>
public sealed class StreamerSecurityOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "StreamerSecurity";

    /// <summary>
    /// Browser origins (<c>scheme://host[:port]</c>) allowed on <c>/hubs</c> and <c>/sse</c> besides the request's own
    /// origin (its <c>Host</c>, or <c>X-Forwarded-Host</c> set by a trusted proxy, <see cref="TrustedProxies"/>), like Centrifugo's
    /// <c>allowed_origins</c>. A request with another <c>Origin</c> gets 403; requests without <c>Origin</c>
    /// (non-browser clients) are not affected. <c>*</c> is not supported.
    /// </summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>
    /// Proxies besides loopback whose <c>X-Forwarded-Host</c>, <c>X-Forwarded-Proto</c> and <c>X-Forwarded-For</c> are
    /// believed (<see cref="ProxyTrust"/>): IP addresses (<c>10.0.0.4</c>) or ranges (<c>10.0.0.0/23</c>, e.g. the Container
    /// Apps environment's infrastructure subnet). From any other peer those headers are ignored. Default none.
    /// </summary>
    [TrustedProxyList]
    public string[] TrustedProxies { get; set; } = [];

    /// <summary>Channel namespaces clients may subscribe to (the part before <c>:</c>). Default <c>conv</c>.</summary>
    [MinLength(1)]
    public string[] Namespaces { get; set; } = ["conv"];

    /// <summary>Hub connections one user may hold across all replicas (counted in Redis, <see cref="UserLimits"/>). Default 20 (tabs and devices).</summary>
    [Range(1, 100_000)]
    public int MaxConnectionsPerUser { get; set; } = 20;

    /// <summary>Subscriptions (hub and SSE) one user may hold across all replicas (counted in Redis, <see cref="UserLimits"/>). Default 100.</summary>
    [Range(1, 1_000_000)]
    public int MaxSubscriptionsPerUser { get; set; } = 100;

    /// <summary>
    /// Life of a counted connection or subscription in Redis unless its replica renews it (every third of it): how long
    /// the slots of a replica that died keep counting. Default 30 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:03", "00:10:00")]
    public TimeSpan LimitSlotTtl { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Longest wait for Redis when counting a connection or subscription; past it (or while Redis is disconnected) it is
    /// admitted and counted on this replica only (fail-open, <see cref="UserLimits"/>). Default 1 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:30")]
    public TimeSpan LimitRedisTimeout { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>Every entry is an IP address or a CIDR range (checked on start).</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class TrustedProxyListAttribute : ValidationAttribute
{
    /// <inheritdoc/>
    public override bool IsValid(object? value) => value is not string[] entries || entries.All(e =>
        e.Contains('/', StringComparison.Ordinal) ? System.Net.IPNetwork.TryParse(e, out _) : System.Net.IPAddress.TryParse(e, out _));

    /// <inheritdoc/>
    public override string FormatErrorMessage(string name) => $"{name} must list IP addresses or CIDR ranges (10.0.0.0/23).";
}
