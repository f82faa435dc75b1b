using System.ComponentModel.DataAnnotations;

namespace AiStreaming.Web.Proxy;

/// <summary>
/// Where the proxy forwards and how it watches the streamer replicas.
/// Tunables bind from the <c>StreamingProxy</c> section; the destinations come from Aspire-style
/// service discovery keys (<c>services:{name}:http:{i}</c>), see <see cref="ServiceEndpoints"/>.
/// </summary>
public sealed class StreamingProxyOptions
{
    /// <summary>Configuration section the tunables bind from.</summary>
    public const string SectionName = "StreamingProxy";

    /// <summary>Base URLs of the Api instances (<c>services:api:http:{i}</c>), e.g. <c>http://127.0.0.1:5123</c>.</summary>
    public List<string> ApiDestinations { get; } = [];

    /// <summary>Base URLs of the streamer replicas (<c>services:streamer:http:{i}</c>), one destination each.</summary>
    public List<string> StreamerDestinations { get; } = [];

    /// <summary>
    /// Path probed by the active health checks on every destination; answered by <c>MapDefaultEndpoints()</c>.
    /// Liveness (<c>/alive</c>), not readiness: every replica shares the same Redis, so taking replicas out of
    /// rotation while Redis is down helps no one, and flapping them breaks SignalR's negotiate/connect pairs.
    /// </summary>
    [Required]
    public string HealthCheckPath { get; set; } = "/alive";

    /// <summary>Time between two active health probes of one destination.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A probe not answered within this time counts as a failure; must be shorter than the interval.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:05:00")]
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Consecutive failed probes that mark a destination unhealthy (YARP's <c>ConsecutiveFailures</c> policy).</summary>
    [Range(1, 100)]
    public int HealthCheckFailureThreshold { get; set; } = 2;

    /// <summary>Cookie that pins a browser to one streamer replica; SignalR's negotiate and connect must land on the same one.</summary>
    [Required]
    public string AffinityCookieName { get; set; } = ".AiStreaming.Affinity";
}
