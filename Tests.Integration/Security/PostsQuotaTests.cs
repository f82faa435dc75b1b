using System.Net;
using System.Net.Http.Json;
using System.Text;
using AiStreaming.Tests.Api;
using AiStreaming.Tests.Infrastructure;
using AiStreaming.Tests.Streamer;

namespace AiStreaming.Tests.Security;

/// <summary>
/// The per-user quota of state-changing calls is one count in Redis for every Api replica (issue 22, item 3): a refusal
/// is a 429 ProblemDetails with <c>Retry-After</c>, a malformed call costs nothing, and a Redis outage lets calls through.
/// </summary>
[Collection(ServersCollection.Name)]
public class PostsQuotaTests(ServersFixture servers)
{
    private static readonly Dictionary<string, string?> ThirtyPerMinute = new() { ["Limits:PostsPerMinute"] = "30" };

    [Fact]
    public async Task The_31st_create_in_a_minute_across_two_replicas_gets_429_with_retry_after()
    {
        await using var a = new ApiFactory(servers, ThirtyPerMinute);
        await using var b = new ApiFactory(servers, ThirtyPerMinute);
        var user = "quota-" + Guid.NewGuid();
        HttpClient[] replicas = [a.CreateClientFor(user), b.CreateClientFor(user)];

        for (var i = 0; i < 30; i++)
        {
            using var created = await replicas[i % 2].PostAsJsonAsync("/api/conversations", new { });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }
        using var refused = await replicas[30 % 2].PostAsJsonAsync("/api/conversations", new { });

        var problem = await refused.AssertProblemAsync(HttpStatusCode.TooManyRequests);
        Assert.Equal("Too many requests", problem.GetProperty("title").GetString());
        var retryAfter = refused.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        // Another user still has a whole quota.
        using var other = await a.CreateClientFor("quota-other-" + Guid.NewGuid()).PostAsJsonAsync("/api/conversations", new { });
        Assert.Equal(HttpStatusCode.Created, other.StatusCode);
    }

    [Fact]
    public async Task Malformed_calls_cost_no_quota()
    {
        await using var api = new ApiFactory(servers, new Dictionary<string, string?> { ["Limits:PostsPerMinute"] = "3" });
        var http = api.CreateClientFor("quota-malformed-" + Guid.NewGuid());
        var id = await http.CreateConversationAsync();

        for (var i = 0; i < 5; i++)
        {
            using var badJson = await http.PostAsync($"/api/conversations/{id}/messages", new StringContent("{\"content\":", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, badJson.StatusCode);
            using var blank = await http.PostMessageAsync(id, "   ");
            Assert.Equal(HttpStatusCode.BadRequest, blank.StatusCode);
            using var longTitle = await http.PostAsJsonAsync("/api/conversations", new { title = new string('x', 1000) });
            Assert.Equal(HttpStatusCode.BadRequest, longTitle.StatusCode);
        }

        // One create so far: two more fit, the fourth call is refused.
        using var second = await http.PostAsJsonAsync("/api/conversations", new { });
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        using var third = await http.PostAsJsonAsync("/api/conversations", new { });
        Assert.Equal(HttpStatusCode.Created, third.StatusCode);
        using var fourth = await http.PostAsJsonAsync("/api/conversations", new { });
        Assert.Equal(HttpStatusCode.TooManyRequests, fourth.StatusCode);
    }

    [Fact]
    public async Task Calls_are_let_through_while_redis_is_down()
    {
        await using var redis = await OwnRedis.StartNewAsync();
        await using var api = new ApiFactory(servers, new Dictionary<string, string?>
        {
            ["Limits:PostsPerMinute"] = "1",
            ["Limits:RedisTimeout"] = "00:00:00.200",
            ["ConnectionStrings:redis"] = redis.ConnectionString,
        });
        var http = api.CreateClientFor("quota-outage-" + Guid.NewGuid());
        using var first = await http.PostAsJsonAsync("/api/conversations", new { });
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        using var second = await http.PostAsJsonAsync("/api/conversations", new { });
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);

        redis.Kill();

        using var during = await http.PostAsJsonAsync("/api/conversations", new { });
        Assert.Equal(HttpStatusCode.Created, during.StatusCode);
    }
}
