using System.Globalization;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.LoadBalancing;

namespace AiStreaming.Web.Proxy;

/// <summary>
/// The proxy's routes and clusters, built from <see cref="StreamingProxyOptions"/>:
/// <c>/api/**</c> to the Api, <c>/hubs/**</c> and <c>/sse/**</c> to the streamer replicas (docs/protocol.md).
/// Paths are forwarded unchanged: each service serves its own prefix.
/// </summary>
public static class StreamingProxyConfig
{
    /// <summary>Cluster of Api instances.</summary>
    public const string ApiClusterId = "api";

    /// <summary>Cluster of streamer replicas.</summary>
    public const string StreamerClusterId = "streamer";

    /// <summary>Routes: the browser sees one origin, like Azure Container Apps ingress in production.</summary>
    public static IReadOnlyList<RouteConfig> Routes { get; } =
    [
        Route("api", ApiClusterId, "/api/{**catch-all}"),
        Route("streamer-hubs", StreamerClusterId, "/hubs/{**catch-all}"),
        Route("streamer-sse", StreamerClusterId, "/sse/{**catch-all}"),
    ];

    /// <summary>Clusters with one destination per configured instance (<c>api-0</c>, <c>streamer-0</c>, <c>streamer-1</c>, …).</summary>
    public static IReadOnlyList<ClusterConfig> Clusters(StreamingProxyOptions options) =>
    [
        new ClusterConfig
        {
            ClusterId = ApiClusterId,
            Destinations = Destinations(ApiClusterId, options.ApiDestinations),
            LoadBalancingPolicy = LoadBalancingPolicies.PowerOfTwoChoices,
            HealthCheck = HealthChecks(options),
            Metadata = HealthMetadata(options),
        },
        new ClusterConfig
        {
            ClusterId = StreamerClusterId,
            Destinations = Destinations(StreamerClusterId, options.StreamerDestinations),
            LoadBalancingPolicy = LoadBalancingPolicies.PowerOfTwoChoices,
            // SignalR's negotiate and the connect that follows must reach the same replica, unless the
            // client skips negotiation. When the pinned replica is unhealthy or gone, Redistribute picks
            // another and re-issues the cookie; the client then recovers its channel from Redis history.
            // HashCookie needs no Data Protection key ring shared between Web instances.
            SessionAffinity = new SessionAffinityConfig
            {
                Enabled = true,
                Policy = "HashCookie",
                FailurePolicy = "Redistribute",
                AffinityKeyName = options.AffinityCookieName,
                Cookie = new SessionAffinityCookieConfig
                {
                    Path = "/",
                    HttpOnly = true,
                    IsEssential = true,
                    SameSite = SameSiteMode.Lax,
                    SecurePolicy = CookieSecurePolicy.SameAsRequest,
                },
            },
            HealthCheck = HealthChecks(options),
            Metadata = HealthMetadata(options),
        },
    ];

    private static RouteConfig Route(string routeId, string clusterId, string path) => new()
    {
        RouteId = routeId,
        ClusterId = clusterId,
        Match = new RouteMatch { Path = path },
    };

    private static Dictionary<string, DestinationConfig> Destinations(string clusterId, IEnumerable<string> addresses) =>
        addresses
            .Select((address, index) => (Id: $"{clusterId}-{index}", Address: address))
            .ToDictionary(d => d.Id, d => new DestinationConfig { Address = d.Address }, StringComparer.OrdinalIgnoreCase);

    // Active probes take a dead replica out within about Interval x Threshold. If every destination is
    // unhealthy, HealthyOrPanic still tries them all rather than failing every request.
    private static HealthCheckConfig HealthChecks(StreamingProxyOptions options) => new()
    {
        AvailableDestinationsPolicy = HealthCheckConstants.AvailableDestinations.HealthyOrPanic,
        Active = new ActiveHealthCheckConfig
        {
            Enabled = true,
            Interval = options.HealthCheckInterval,
            Timeout = options.HealthCheckTimeout,
            Policy = "ConsecutiveFailures",
            Path = options.HealthCheckPath,
        },
        // No passive checks: YARP's only passive policy (TransportFailureRate) scores failures over a 60 s
        // window, and every stream cut by a dying replica plus every client retry against it counts. After the
        // replica came back it kept being marked unhealthy for up to a minute, and with affinity pinned to the
        // other, dead replica failover took ~60 s (seen in the fault tests). Active probes every second find a
        // dead replica within about Interval x Threshold.
    };

    private static Dictionary<string, string> HealthMetadata(StreamingProxyOptions options) => new()
    {
        [ConsecutiveFailuresHealthPolicyOptions.ThresholdMetadataName] =
            options.HealthCheckFailureThreshold.ToString(CultureInfo.InvariantCulture),
    };
}
