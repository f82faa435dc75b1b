using System.ComponentModel.DataAnnotations;

namespace AiStreaming.Streamer.Auth;

/// <summary>Who may connect and subscribe, bound from the <c>StreamerSecurity</c> configuration section.</summary>
public sealed class StreamerSecurityOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "StreamerSecurity";

    /// <summary>
    /// Browser origins (<c>scheme://host[:port]</c>) allowed on <c>/hubs</c> and <c>/sse</c> besides the request's own
    /// origin (its <c>Host</c>, or <c>X-Forwarded-Host</c> set by Web's proxy), like Centrifugo's
    /// <c>allowed_origins</c>. A request with another <c>Origin</c> gets 403; requests without <c>Origin</c>
    /// (non-browser clients) are not affected. <c>*</c> is not supported.
    /// </summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>Channel namespaces clients may subscribe to (the part before <c>:</c>). Default <c>conv</c>.</summary>
    [MinLength(1)]
    public string[] Namespaces { get; set; } = ["conv"];

    /// <summary>Hub connections one user may hold on one replica. Default 20 (tabs and devices).</summary>
    [Range(1, 100_000)]
    public int MaxConnectionsPerUser { get; set; } = 20;

    /// <summary>Subscriptions (hub and SSE) one user may hold on one replica. Default 100.</summary>
    [Range(1, 1_000_000)]
    public int MaxSubscriptionsPerUser { get; set; } = 100;
}
