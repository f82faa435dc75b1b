using System.Collections.Concurrent;
using System.Net;
using AiStreaming.AppHost.Hosting;
using AiStreaming.Tests.Infrastructure;

namespace AiStreaming.Tests.EndToEnd;

/// <summary>The AppHost's one endpoint in front of the streamer replicas, on the running stack.</summary>
[Collection(StackCollection.Name)]
public class ReplicaBalancingTests(StackFixture stack)
{
    [Fact]
    public async Task Killing_a_streamer_replica_costs_no_request_through_the_balanced_endpoint_an_error()
    {
        // No cookies (so no affinity) and no connection reuse: every request picks a replica anew, both get some.
        using var http = new HttpClient(new SocketsHttpHandler { UseCookies = false, PooledConnectionLifetime = TimeSpan.Zero })
        {
            BaseAddress = stack.App.GetEndpoint("streamer"),
        };
        var statuses = new ConcurrentQueue<HttpStatusCode>();
        using var stop = new CancellationTokenSource();
        var load = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await http.GetAsync("/alive");
                statuses.Enqueue(response.StatusCode);
            }
        });
        try
        {
            await Eventually.UntilAsync(() => statuses.Count >= 20 || load.IsFaulted, TimeSpan.FromSeconds(20), "requests before the kill");
            await stack.CommandAsync("streamer-1", KnownResourceCommands.KillCommand);
            var atKill = statuses.Count;
            await Eventually.UntilAsync(() => statuses.Count >= atKill + 50 || load.IsFaulted, TimeSpan.FromSeconds(20), "requests after the kill");
        }
        finally
        {
            await stop.CancelAsync();
            await stack.CommandAsync("streamer-1", KnownResourceCommands.StartCommand);
        }
        await load;
        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.OK, status));
    }
}
