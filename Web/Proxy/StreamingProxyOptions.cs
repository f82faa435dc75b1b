namespace AiStreaming.Web.Proxy;

/// <summary>
/// Where the proxy forwards: one address per service, the one Aspire's <c>WithReference</c> injects
/// (<c>services:{name}:http:0</c>, read by <see cref="ServiceEndpoints"/>). Replicas of a service sit behind that one
/// address, which balances them (the AppHost's balancer, Aspire's proxy, Container Apps ingress); Web keeps no list
/// of replicas, no affinity of its own and no health probes.
/// </summary>
public sealed class StreamingProxyOptions
{
    /// <summary>Base URL of the Api (<c>services:api:http:0</c>), e.g. <c>http://127.0.0.1:5123</c>.</summary>
    public string? ApiAddress { get; set; }

    /// <summary>
    /// Base URL of the streamer tier (<c>services:streamer:http:0</c>). When the balancer behind it offers sticky
    /// sessions (an affinity cookie, as Container Apps does), the cookie passes through Web unchanged: SignalR's
    /// negotiated fallback transports need it; WebSockets without negotiate and SSE do not.
    /// </summary>
    public string? StreamerAddress { get; set; }
}
