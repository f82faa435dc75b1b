using System.Net;
using System.Net.WebSockets;
using AiStreaming.AppHost.Hosting;
using AiStreaming.AppHost.Hosting.Balancing;
using AiStreaming.AppHost.Hosting.Runtime;
using AiStreaming.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AiStreaming.Tests.AppHost;

/// <summary>
/// The AppHost's load balancer in front of replicas (<c>WithReplicas</c>), against two in-process HTTP servers standing in for
/// the replicas: each answers <c>GET /</c> with its name, <c>GET /health</c> with 200 (or 503 while "draining") and echoes
/// on a WebSocket at <c>/ws</c>.
/// </summary>
public sealed class ReplicaBalancerTests : IAsyncLifetime
{
    private readonly FakeReplica[] _replicas = [new("svc-0"), new("svc-1")];
    private ResourceRuntime _runtime = null!;
    private ReplicaBalancer _balancer = null!;
    private Uri _endpoint = null!;

    public async Task InitializeAsync()
    {
        foreach (var replica in _replicas)
        {
            await replica.StartAsync();
        }
        var host = new HostContext(new DistributedApplicationOptions(), Path.GetTempPath());
        _runtime = new ResourceRuntime(new ProjectResource("svc", "/svc.csproj") { Annotations = { new StickySessionsAnnotation() } }, new VirtualDriver(host, "test", _ => new Uri("http://127.0.0.1")), 0,
            [.. _replicas.Select(r => r.Port)]);
        foreach (var replica in _runtime.Replicas)
        {
            replica.SetState(ResourceState.Healthy);
        }
        var port = PortAllocator.GetFreePort();
        _endpoint = new Uri($"http://127.0.0.1:{port}");
        _balancer = new ReplicaBalancer(_runtime, port);
        await _balancer.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _balancer.DisposeAsync();
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
        }
    }

    [Fact]
    public async Task Requests_are_spread_over_the_replicas()
    {
        // Without the affinity cookie: a client that keeps it stays on one replica.
        using var http = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = _endpoint };
        var served = new HashSet<string>();
        await Eventually.UntilAsync(async () =>
        {
            served.Add(await http.GetStringAsync("/"));
            return served.Count == 2;
        }, TimeSpan.FromSeconds(10), "both replicas to serve a request");
    }

    [Fact]
    public async Task A_replica_that_refuses_connections_costs_no_request_a_502()
    {
        // The process is gone but nothing has told the balancer yet (the AppHost's state still says healthy).
        await _replicas[1].DisposeAsync();
        using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { BaseAddress = _endpoint };
        for (var i = 0; i < 20; i++)
        {
            using var response = await http.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("svc-0", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task A_post_to_a_replica_that_refuses_connections_is_served_by_another_with_its_body()
    {
        await _replicas[1].DisposeAsync();
        using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { BaseAddress = _endpoint };
        for (var i = 0; i < 20; i++)
        {
            using var response = await http.PostAsync("/echo", new StringContent($"body {i}"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal($"svc-0: body {i}", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task A_replica_back_after_refusing_gets_its_share_of_requests_at_once()
    {
        // While svc-1 refused, its share went to svc-0. No connection may keep carrying svc-1's share to svc-0 once it is
        // back (a draining svc-0 would then answer requests the balancer meant for svc-1).
        await _replicas[1].DisposeAsync();
        using var http = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = _endpoint };
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal("svc-0", await http.GetStringAsync("/"));
        }
        await _replicas[1].StartAsync();
        await Eventually.UntilAsync(() => _balancer.ActiveHealth("svc-1") == Yarp.ReverseProxy.Model.DestinationHealth.Healthy,
            TimeSpan.FromSeconds(5), "the probes to see svc-1 again");
        var served = new HashSet<string>();
        for (var i = 0; i < 40 && served.Count < 2; i++)
        {
            served.Add(await http.GetStringAsync("/"));
        }
        Assert.Contains("svc-1", served);
    }

    [Fact]
    public async Task A_dead_replica_is_found_unhealthy_by_the_probes_although_requests_fail_over()
    {
        await _replicas[1].DisposeAsync();
        await Eventually.UntilAsync(() => _balancer.ActiveHealth("svc-1") == Yarp.ReverseProxy.Model.DestinationHealth.Unhealthy,
            TimeSpan.FromSeconds(5), "the probes to mark the dead replica unhealthy");
        Assert.Equal(Yarp.ReverseProxy.Model.DestinationHealth.Healthy, _balancer.ActiveHealth("svc-0"));
    }

    [Fact]
    public async Task A_draining_replica_gets_no_new_requests_once_its_health_probe_fails()
    {
        _replicas[1].Draining = true;
        using var http = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = _endpoint };
        // The balancer probes every second: once a probe has seen the 503, it stops choosing the draining replica.
        await Eventually.UntilAsync(() => _replicas[1].HealthProbesSinceDraining >= 1, TimeSpan.FromSeconds(5), "a health probe of the draining replica");
        await Eventually.UntilAsync(() => _balancer.ActiveHealth("svc-1") == Yarp.ReverseProxy.Model.DestinationHealth.Unhealthy,
            TimeSpan.FromSeconds(5), "the probe's answer to mark the draining replica unhealthy");
        var before = _replicas[1].Served;
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal("svc-0", await http.GetStringAsync("/"));
        }
        Assert.Equal(before, _replicas[1].Served);
    }

    [Fact]
    public async Task The_affinity_cookie_pins_a_client_and_fails_over_when_its_replica_dies()
    {
        var cookies = new CookieContainer();
        using var http = new HttpClient(new HttpClientHandler { CookieContainer = cookies }) { BaseAddress = _endpoint };
        var pinned = await http.GetStringAsync("/");
        Assert.Contains(cookies.GetCookies(_endpoint).Cast<Cookie>(), c => c.Name == _balancer.AffinityCookie);
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(pinned, await http.GetStringAsync("/"));
        }

        var index = Array.FindIndex(_replicas, r => r.Name == pinned);
        await _replicas[index].DisposeAsync();
        _runtime.Replicas[index].SetState(ResourceState.Killed);
        var other = _replicas[1 - index].Name;
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(other, await http.GetStringAsync("/"));
        }
    }

    [Fact]
    public async Task WebSockets_pass_through()
    {
        using var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://{_endpoint.Authority}/ws"), CancellationToken.None);
        await socket.SendAsync("ping"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None);
        var buffer = new byte[64];
        var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
        Assert.StartsWith("ping from svc-", System.Text.Encoding.UTF8.GetString(buffer, 0, received.Count));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }

    private sealed class FakeReplica(string name) : IAsyncDisposable
    {
        private WebApplication? _app;
        private int _served;
        private int _probesSinceDraining;

        public string Name { get; } = name;

        public int Port { get; } = PortAllocator.GetFreePort();

        public bool Draining { get; set; }

        public int Served => Volatile.Read(ref _served);

        public int HealthProbesSinceDraining => Volatile.Read(ref _probesSinceDraining);

        public async Task StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls($"http://127.0.0.1:{Port}");
            var app = builder.Build();
            app.UseWebSockets();
            app.MapGet("/", () =>
            {
                Interlocked.Increment(ref _served);
                return Name;
            });
            app.MapPost("/echo", async (HttpRequest request) => $"{Name}: {await new StreamReader(request.Body).ReadToEndAsync()}");
            app.MapGet("/health", () =>
            {
                if (Draining)
                {
                    Interlocked.Increment(ref _probesSinceDraining);
                }
                return Draining ? Results.StatusCode(503) : Results.Ok();
            });
            app.Map("/ws", async (HttpContext context) =>
            {
                using var socket = await context.WebSockets.AcceptWebSocketAsync();
                var buffer = new byte[64];
                var received = await socket.ReceiveAsync(buffer, context.RequestAborted);
                var reply = System.Text.Encoding.UTF8.GetBytes($"{System.Text.Encoding.UTF8.GetString(buffer, 0, received.Count)} from {Name}");
                await socket.SendAsync(reply, WebSocketMessageType.Text, true, context.RequestAborted);
                await socket.ReceiveAsync(buffer, context.RequestAborted);
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, context.RequestAborted);
            });
            await app.StartAsync();
            _app = app;
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _app, null) is { } app)
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }
        }
    }
}
