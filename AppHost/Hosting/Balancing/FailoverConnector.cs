using System.Net;
using System.Net.Sockets;
using AiStreaming.AppHost.Hosting.Runtime;

namespace AiStreaming.AppHost.Hosting.Balancing;

/// <summary>
/// Opens the balancer's connections to replicas. When the chosen replica refuses the connection (its process is gone and
/// the proxy has not yet heard), it connects to the next healthy replica instead, in index order after the refused one,
/// so the request is served rather than answered 502. The balancer's own health probes never fail over: they must see
/// the replica they ask about.
/// </summary>
internal sealed class FailoverConnector(ResourceRuntime runtime)
{
    /// <summary>A <see cref="SocketsHttpHandler.ConnectCallback"/>.</summary>
    /// <exception cref="SocketException">No replica accepted the connection (the first refusal is rethrown).</exception>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var port = context.DnsEndPoint.Port;
        try
        {
            return await ConnectAsync(port, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException) when (!IsProbe(context) && Candidates(port).Any())
        {
            foreach (var candidate in Candidates(port))
            {
                try
                {
                    return await ConnectAsync(candidate, cancellationToken).ConfigureAwait(false);
                }
                catch (SocketException)
                {
                }
            }
            throw;
        }
    }

    /// <summary>The ports of the other healthy replicas, starting after the one at <paramref name="refusedPort"/>.</summary>
    public IEnumerable<int> Candidates(int refusedPort)
    {
        var replicas = runtime.Replicas;
        var start = replicas.ToList().FindIndex(r => r.Port == refusedPort);
        return Enumerable.Range(1, replicas.Count - 1)
            .Select(offset => replicas[(start + offset + replicas.Count) % replicas.Count])
            .Where(r => r.State == ResourceState.Healthy && r.Port != refusedPort)
            .Select(r => r.Port);
    }

    private static bool IsProbe(SocketsHttpConnectionContext context) =>
        context.InitialRequestMessage.RequestUri?.Query == ReplicaBalancer.ProbeQuery;

    private static async Task<Stream> ConnectAsync(int port, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>
/// Sends a bodiless GET, HEAD or OPTIONS again (at most twice more) when the connection to its replica was lost before
/// any response: a killed replica resets the connections in its accept queue and the requests it was serving. The resend
/// connects anew, which <see cref="FailoverConnector"/> sends to a live replica. Requests with a body are not resent (the
/// body was streamed from the client), nor are the balancer's own probes.
/// </summary>
internal sealed class ResendOnConnectionLoss(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    private const int MaxAttempts = 3;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException) when (attempt < MaxAttempts && IsResendable(request) && !cancellationToken.IsCancellationRequested)
            {
            }
        }
    }

    private static bool IsResendable(HttpRequestMessage request) =>
        request.Content is null
        && (request.Method == HttpMethod.Get || request.Method == HttpMethod.Head || request.Method == HttpMethod.Options)
        && request.RequestUri?.Query != ReplicaBalancer.ProbeQuery;
}
