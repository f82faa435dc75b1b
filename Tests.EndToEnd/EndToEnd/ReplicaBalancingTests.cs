using System.Net;
using System.Net.ServerSentEvents;
using AiStreaming.Channels;
using AiStreaming.Tests.Infrastructure;
using Aspire.Hosting.Testing;

namespace AiStreaming.Tests.EndToEnd;

/// <summary>
/// Aspire's proxy in front of the streamer replicas (the one <c>streamer</c> endpoint, no affinity), on the running
/// stack: which replica served a request is read from the <c>node</c> (<c>host:pid</c>) of an SSE stream's first
/// <c>subscribed</c> frame.
/// </summary>
[Collection(StackCollection.Name)]
public class ReplicaBalancingTests(StackFixture stack)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Both_streamer_replicas_serve_streams_through_the_one_streamer_endpoint()
    {
        using var http = NewClientWithoutConnectionReuse();
        var channel = $"conv:{Guid.NewGuid():D}";
        var served = new HashSet<int>();

        await Eventually.UntilAsync(async () =>
        {
            served.Add(stack.StreamerReplicaOf(await ServingNodeAsync(http, channel)));
            return served.Count == stack.StreamerIds.Count;
        }, Patience, "a stream served by each streamer replica");
    }

    [Fact]
    public async Task Requests_through_the_streamer_endpoint_succeed_on_the_surviving_replica_after_a_kill_and_reach_the_restarted_one_again()
    {
        using var http = NewClientWithoutConnectionReuse();
        var channel = $"conv:{Guid.NewGuid():D}";
        const int killed = 1;
        var killedId = stack.StreamerIds[killed];
        await stack.KillAsync(killedId);
        try
        {
            for (var i = 0; i < 20; i++)
            {
                using var alive = await http.GetAsync("/alive");
                Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
                Assert.NotEqual(killed, stack.StreamerReplicaOf(await ServingNodeAsync(http, channel)));
            }
        }
        finally
        {
            await stack.StartAsync(killedId);
        }

        await Eventually.UntilAsync(
            async () => stack.StreamerReplicaOf(await ServingNodeAsync(http, channel)) == killed,
            Patience, "a stream served by the restarted replica");
    }

    // Every request on a new connection, so the proxy picks a replica for each.
    private HttpClient NewClientWithoutConnectionReuse() =>
        new(new SocketsHttpHandler { UseCookies = false, PooledConnectionLifetime = TimeSpan.Zero })
        {
            BaseAddress = stack.App.GetEndpoint("streamer"),
        };

    /// <summary>Opens an SSE stream on <paramref name="channel"/> through the endpoint and returns the node of its first <c>subscribed</c>.</summary>
    private static async Task<string?> ServingNodeAsync(HttpClient http, string channel)
    {
        using var cts = new CancellationTokenSource(Patience);
        var token = TestAuth.SubscriptionToken("dev:e2e", channel);
        using var response = await http.GetAsync($"/sse/{channel}?token={Uri.EscapeDataString(token)}", HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync(cts.Token);
        await foreach (var item in SseParser.Create(body).EnumerateAsync(cts.Token))
        {
            if (item.EventType == ChannelEventTypes.Subscribed)
            {
                return ChannelEvent.Parse(item.Data).Data!.Value.GetProperty("node").GetString();
            }
        }
        throw new InvalidOperationException("The stream ended before its subscribed frame.");
    }
}
