using System.Net;
using AiStreaming.AppHost.Hosting.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;
using Yarp.ReverseProxy.SessionAffinity;
using Yarp.ReverseProxy.Transforms;

namespace AiStreaming.AppHost.Hosting.Balancing;

/// <summary>
/// The one endpoint in front of a project's replicas, as Aspire's proxy: a YARP reverse proxy in the AppHost process on
/// <see cref="EndpointAnnotation.Port"/>, balancing by power of two choices (the fewer active requests of two random replicas, YARP's default), WebSockets and streamed responses passed through.
/// A replica gets no new request once it is not healthy: the AppHost marks it unhealthy the moment it is stopped, killed
/// or exits, an active probe of <c>GET /health</c> every second catches a replica that turns unhealthy on its own (a
/// draining streamer), and <see cref="ReplicaFailover"/> sends a request a dead replica refuses to a live one and
/// resends a bodiless GET whose connection the dying replica reset, so no client sees a 502 for it. Sticky sessions, as Container Apps offers them for SignalR's negotiate-based transports: the
/// cookie <c>.AiStreaming.Affinity.{name}</c> pins a client to a replica, and a request whose replica is down goes to
/// another one and re-pins (YARP's <c>Redistribute</c>).
/// </summary>
internal sealed class ReplicaBalancer(ResourceRuntime runtime, int port) : IAsyncDisposable
{
    /// <summary>How often each replica's <c>/health</c> is probed.</summary>
    public static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(1);

    /// <summary>The query string that marks the balancer's own probes, which must reach their replica or fail (never fail over).</summary>
    public const string ProbeQuery = "?balancer-probe=1";

    private WebApplication? _app;

    /// <summary>The affinity cookie's name.</summary>
    public string AffinityCookie => $".AiStreaming.Affinity.{runtime.Name}";

    /// <summary>Starts listening on 127.0.0.1:<c>port</c>.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = EmbeddedWebApp.CreateBuilder($"AiStreaming.AppHost.Balancer.{runtime.Name}");
        builder.Services.AddSingleton<IForwarderHttpClientFactory>(new FailoverClientFactory(runtime));
        builder.Services.AddReverseProxy().LoadFromMemory([Route()], [Cluster()]);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        builder.WebHost.UseUrls();
        var app = builder.Build();
        app.MapReverseProxy();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _app = app;
        runtime.ReplicaStateChanged += OnReplicaStateChanged;
        foreach (var replica in runtime.Replicas)
        {
            OnReplicaStateChanged(replica);
        }
    }

    public async ValueTask DisposeAsync()
    {
        runtime.ReplicaStateChanged -= OnReplicaStateChanged;
        if (Interlocked.Exchange(ref _app, null) is { } app)
        {
            await EmbeddedWebApp.StopAsync(app, TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
    }

    /// <summary>The replica's health as the proxy's active checks last saw it (<c>Unknown</c> before the first probe).</summary>
    internal DestinationHealth ActiveHealth(string replicaId) =>
        _app is { } app && app.Services.GetRequiredService<IProxyStateLookup>().TryGetCluster(runtime.Name, out var cluster)
            && cluster.Destinations.TryGetValue(replicaId, out var destination)
            ? destination.Health.Active
            : DestinationHealth.Unknown;

    // The AppHost knows first when a replica stops or dies: tell the proxy at once rather than at the next probe.
    private void OnReplicaStateChanged(ReplicaRuntime replica)
    {
        if (_app is not { } app || !app.Services.GetRequiredService<IProxyStateLookup>().TryGetCluster(runtime.Name, out var cluster)
            || !cluster.Destinations.TryGetValue(replica.DisplayName, out var destination))
        {
            return;
        }
        var health = replica.State == ResourceState.Healthy ? DestinationHealth.Healthy : DestinationHealth.Unhealthy;
        app.Services.GetRequiredService<IDestinationHealthUpdater>().SetActive(cluster, [new NewActiveDestinationHealth(destination, health)]);
    }

    private RouteConfig Route() => new RouteConfig
    {
        RouteId = runtime.Name,
        ClusterId = runtime.Name,
        Match = new RouteMatch { Path = "{**catch-all}" },
    }.WithTransformXForwarded(xDefault: ForwardedTransformActions.Off); // a transparent hop: keep the caller's X-Forwarded-* as they are

    private ClusterConfig Cluster() => new()
    {
        ClusterId = runtime.Name,
        LoadBalancingPolicy = LoadBalancingPolicies.PowerOfTwoChoices,
        SessionAffinity = new SessionAffinityConfig
        {
            Enabled = runtime.Resource.Annotations.OfType<StickySessionsAnnotation>().Any(),
            Policy = SessionAffinityConstants.Policies.HashCookie,
            FailurePolicy = SessionAffinityConstants.FailurePolicies.Redistribute,
            AffinityKeyName = AffinityCookie,
            Cookie = new SessionAffinityCookieConfig { HttpOnly = true, SameSite = SameSiteMode.Lax, Path = "/" },
        },
        HealthCheck = new HealthCheckConfig
        {
            Active = new ActiveHealthCheckConfig
            {
                Enabled = true,
                Interval = ProbeInterval,
                Timeout = ProbeInterval,
                Policy = HealthCheckConstants.ActivePolicy.ConsecutiveFailures,
                Path = "/health",
                Query = ProbeQuery,
            },
        },
        // One failed probe is enough: a draining replica answers 503 on purpose.
        Metadata = new Dictionary<string, string> { ["ConsecutiveFailuresHealthPolicy.Threshold"] = "1" },
        // Streams (SSE, WebSockets) stay open for long; their own heartbeats keep them alive.
        HttpRequest = new ForwarderRequestConfig { ActivityTimeout = TimeSpan.FromMinutes(30) },
        Destinations = runtime.Replicas.ToDictionary(r => r.DisplayName, r => new DestinationConfig { Address = $"http://127.0.0.1:{r.Port}" }),
    };

    private sealed class FailoverClientFactory(ResourceRuntime runtime) : ForwarderHttpClientFactory
    {
        protected override HttpMessageHandler WrapHandler(ForwarderHttpClientContext context, HttpMessageHandler handler) =>
            new ReplicaFailover(runtime, base.WrapHandler(context, handler));
    }
}
