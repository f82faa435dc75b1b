using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using AiStreaming.Channels;
using AiStreaming.Tests.Infrastructure;
using AiStreaming.Tests.Streamer;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace AiStreaming.Tests.Security;

/// <summary>
/// The streamer's per-user subscription limit counts across replicas in Redis (issue 22, item 3), and an SSE subscription
/// token works only for its own user when the caller is known (item 4).
/// </summary>
[Collection(ServersCollection.Name)]
public class StreamerLimitsTests(ServersFixture servers)
{
    [Fact]
    public async Task Subscriptions_of_one_user_count_across_two_replicas_and_the_one_over_gets_429_with_retry_after()
    {
        await using var a = Replica(maxSubscriptions: 2);
        await using var b = Replica(maxSubscriptions: 2);
        var user = "limits-" + Guid.NewGuid();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        using var first = await OpenSseAsync(a.CreateClient(), user, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        using var second = await OpenSseAsync(b.CreateClient(), user, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        using var third = await OpenSseAsync(a.CreateClient(), user, timeout.Token);

        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.Equal("application/problem+json", third.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await third.Content.ReadAsStringAsync(timeout.Token)).RootElement;
        Assert.Equal("too_many_subscriptions", problem.GetProperty("title").GetString());
        Assert.NotNull(third.Headers.RetryAfter?.Delta);
        // Another user is not affected.
        using var other = await OpenSseAsync(b.CreateClient(), "limits-other-" + Guid.NewGuid(), timeout.Token);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);

        // A subscription that ends gives its slot back, whichever replica held it.
        first.Dispose();
        await Eventually.UntilAsync(async () =>
        {
            using var again = await OpenSseAsync(b.CreateClient(), user, timeout.Token);
            return again.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(10), "the released slot to be free again");
    }

    [Fact]
    public async Task An_sse_subscription_token_of_another_user_is_refused_when_the_caller_is_known()
    {
        await using var streamer = Replica(maxSubscriptions: 100);
        var channel = ChannelName.ForConversation(Guid.NewGuid()).Value;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var http = streamer.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/sse/{channel}?token={Uri.EscapeDataString(TestAuth.SubscriptionToken("alice", channel))}");
        request.Headers.Authorization = TestAuth.Bearer("mallory");

        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(timeout.Token)).RootElement;
        Assert.Equal("forbidden", problem.GetProperty("title").GetString());
        // The owner, through Web (user token) or without a known caller, is served.
        using var own = new HttpRequestMessage(HttpMethod.Get, request.RequestUri);
        own.Headers.Authorization = TestAuth.Bearer("alice");
        using var served = await http.SendAsync(own, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    private WebApplicationFactory<AiStreaming.Streamer.StreamerTelemetry> Replica(int maxSubscriptions) =>
        new StreamerFactory(servers.RedisConnectionString).WithWebHostBuilder(builder =>
            builder.UseSetting("StreamerSecurity:MaxSubscriptionsPerUser", $"{maxSubscriptions}"));

    private static Task<HttpResponseMessage> OpenSseAsync(HttpClient http, string user, CancellationToken cancellationToken)
    {
        var channel = ChannelName.ForConversation(Guid.NewGuid()).Value;
        var request = new HttpRequestMessage(HttpMethod.Get, $"/sse/{channel}?token={Uri.EscapeDataString(TestAuth.SubscriptionToken(user, channel))}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }
}
