using Yarp.ReverseProxy.Configuration;

namespace AiStreaming.Web.Proxy;

/// <summary>
/// The proxy's routes and clusters, built from <see cref="StreamingProxyOptions"/>:
/// <c>/api/**</c> to the Api, <c>/hubs/**</c> and <c>/sse/**</c> to the streamer tier (docs/protocol.md).
/// Paths are forwarded unchanged: each service serves its own prefix.
/// </summary>
public static class StreamingProxyConfig
{
    /// <summary>Cluster of the Api.</summary>
    public const string ApiClusterId = "api";

    /// <summary>Cluster of the streamer tier.</summary>
    public const string StreamerClusterId = "streamer";

    /// <summary>Routes: the browser sees one origin, like Azure Container Apps ingress in production.</summary>
    public static IReadOnlyList<RouteConfig> Routes { get; } =
    [
        Route("api", ApiClusterId, "/api/{**catch-all}"),
        Route("streamer-hubs", StreamerClusterId, "/hubs/{**catch-all}"),
        Route("streamer-sse", StreamerClusterId, "/sse/{**catch-all}"),
    ];

    /// <summary>
    /// One cluster per service with its one destination. No session affinity and no health checks: the balancer
    /// behind each address owns both (it never hands a connection to a replica that refuses it), and cookies,
    /// the balancer's affinity cookie included, pass through unchanged.
    /// </summary>
    public static IReadOnlyList<ClusterConfig> Clusters(StreamingProxyOptions options) =>
    [
        Cluster(ApiClusterId, options.ApiAddress!),
        Cluster(StreamerClusterId, options.StreamerAddress!),
    ];

    private static RouteConfig Route(string routeId, string clusterId, string path) => new()
    {
        RouteId = routeId,
        ClusterId = clusterId,
        Match = new RouteMatch { Path = path },
    };

    private static ClusterConfig Cluster(string clusterId, string address) => new()
    {
        ClusterId = clusterId,
        Destinations = new Dictionary<string, DestinationConfig>(StringComparer.OrdinalIgnoreCase)
        {
            [clusterId] = new DestinationConfig { Address = address },
        },
    };
}
