using System.Net.Sockets;
using AiStreaming.AppHost.Hosting.Runtime;

namespace AiStreaming.AppHost.Hosting.Balancing;

/// <summary>
/// The balancer's last hop to a replica, wrapped around YARP's handler. Two faults of a replica that is going away are
/// hidden from the client:
/// <list type="bullet">
/// <item>The chosen replica refuses the connection (its process is gone and the proxy has not yet heard): the request,
/// whatever its method, is sent to the next healthy replica, in index order after the refused one. Nothing of it was
/// sent, so this is safe for a POST too. The request's address is rewritten, so the connection is pooled under the replica
/// it really reaches: a pooled connection never serves one replica's traffic while it belongs to another.</item>
/// <item>The connection is lost before any response (a killed replica resets its accept queue and the requests it was
/// serving): a bodiless GET, HEAD or OPTIONS is sent again, at most twice more. Requests with a body are not resent (the
/// body was streamed from the client).</item>
/// </list>
/// The balancer's own health probes (<see cref="ReplicaBalancer.ProbeQuery"/>) are never redirected or resent: they must
/// see the replica they ask about.
/// </summary>
/// <param name="runtime">The replicated resource (ports and states of its replicas).</param>
/// <param name="inner">YARP's handler.</param>
internal sealed class ReplicaFailover(ResourceRuntime runtime, HttpMessageHandler inner) : DelegatingHandler(inner)
{
    private const int MaxResends = 2;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var resends = 0;
        while (true)
        {
            try
            {
                return await SendToLiveReplicaAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException) when (resends++ < MaxResends && IsResendable(request) && !cancellationToken.IsCancellationRequested)
            {
            }
        }
    }

    /// <summary>The ports of the other healthy replicas, starting after the one at <paramref name="refusedPort"/>.</summary>
    /// <param name="refusedPort">The port that refused.</param>
    /// <returns>Ports, in index order (wrapping around).</returns>
    private IEnumerable<int> Candidates(int refusedPort)
    {
        var replicas = runtime.Replicas;
        var start = replicas.ToList().FindIndex(r => r.Port == refusedPort);
        return Enumerable.Range(1, replicas.Count - 1)
            .Select(offset => replicas[(start + offset + replicas.Count) % replicas.Count])
            .Where(r => r.State == ResourceState.Healthy && r.Port != refusedPort)
            .Select(r => r.Port);
    }

    private async Task<HttpResponseMessage> SendToLiveReplicaAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri!;
        try
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex) when (IsRefused(ex) && !IsProbe(request))
        {
            foreach (var port in Candidates(uri.Port))
            {
                request.RequestUri = new UriBuilder(uri) { Port = port }.Uri;
                try
                {
                    return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
                }
                catch (HttpRequestException next) when (IsRefused(next))
                {
                }
            }
            request.RequestUri = uri;
            throw;
        }
    }

    // A refused connect fails before a byte of the request is written.
    private static bool IsRefused(HttpRequestException ex) =>
        ex.HttpRequestError == HttpRequestError.ConnectionError && ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused };

    private static bool IsProbe(HttpRequestMessage request) => request.RequestUri?.Query == ReplicaBalancer.ProbeQuery;

    private static bool IsResendable(HttpRequestMessage request) =>
        request.Content is null
        && (request.Method == HttpMethod.Get || request.Method == HttpMethod.Head || request.Method == HttpMethod.Options)
        && !IsProbe(request);
}
