using System.Net;
using System.Net.Sockets;
using System.Text;
using AiStreaming.AppHost.Hosting;
using AiStreaming.AppHost.Hosting.Balancing;
using AiStreaming.AppHost.Hosting.Runtime;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace AiStreaming.Tests.AppHost;

/// <summary>
/// A replica killed while it answered a GET: the connection is reset before the response headers are complete, and the
/// port refuses from then on. The balancer resends the GET, which fails over to the live replica: no 502.
/// </summary>
public sealed class ReplicaBalancerResendTests
{
    [Fact]
    public async Task A_get_whose_connection_a_dying_replica_reset_is_served_by_another_replica()
    {
        var live = WebApplication.CreateSlimBuilder();
        live.Logging.ClearProviders();
        var livePort = PortAllocator.GetFreePort();
        live.WebHost.UseUrls($"http://127.0.0.1:{livePort}");
        await using var liveApp = live.Build();
        liveApp.MapGet("/", () => "live");
        liveApp.MapGet("/health", () => "ok");
        await liveApp.StartAsync();

        var dying = new TcpListener(IPAddress.Loopback, 0);
        dying.Start();
        var dyingPort = ((IPEndPoint)dying.LocalEndpoint).Port;
        var reset = DieOnFirstRequestAsync(dying);

        var host = new HostContext(new DistributedApplicationOptions(), Path.GetTempPath());
        var runtime = new ResourceRuntime(new ProjectResource("svc", "/svc.csproj"), new VirtualDriver(host, "test", _ => new Uri("http://127.0.0.1")), 0,
            [dyingPort, livePort]);
        foreach (var replica in runtime.Replicas)
        {
            replica.SetState(ResourceState.Healthy);
        }
        var port = PortAllocator.GetFreePort();
        await using var balancer = new ReplicaBalancer(runtime, port);
        await balancer.StartAsync(CancellationToken.None);

        using var http = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        for (var i = 0; i < 40 && !reset.IsCompleted; i++)
        {
            using var response = await http.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("live", await response.Content.ReadAsStringAsync());
        }
        Assert.True(reset.IsCompleted, "the dying replica was never chosen");
        await reset;
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("live", await http.GetStringAsync("/"));
        }
    }

    // Answers the balancer's probes; the first other request gets half a status line, a reset (RST) and a closed port.
    private static async Task DieOnFirstRequestAsync(TcpListener listener)
    {
        while (true)
        {
            var client = await listener.AcceptTcpClientAsync();
            var buffer = new byte[4096];
            var read = await client.GetStream().ReadAsync(buffer);
            var head = Encoding.ASCII.GetString(buffer, 0, read);
            if (head.Contains(ReplicaBalancer.ProbeQuery, StringComparison.Ordinal))
            {
                await client.GetStream().WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray());
                client.Dispose();
                continue;
            }
            listener.Stop();
            // Half a status line, then a reset: the process died while answering (an HTTP client never retries this itself).
            await client.GetStream().WriteAsync("HTTP/1.1 2"u8.ToArray());
            await Task.Delay(50);
            client.Client.LingerState = new LingerOption(true, 0);
            client.Dispose();
            return;
        }
    }
}
