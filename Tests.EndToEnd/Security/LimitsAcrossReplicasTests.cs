using System.Net;
using System.Net.Http.Json;
using AiStreaming.Tests.Aspire;
using AiStreaming.Tests.Infrastructure;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace AiStreaming.Tests.Security;

/// <summary>
/// "30 creates per minute" holds for the deployment, not per replica (issue 22): the AppHost's two Api replicas, each
/// called directly, share one count. Its own small application (the AppHost's Redis, PostgreSQL and Api replicas, with
/// the limit at its default), since the shared stack raises the limit for the suite's one user.
/// </summary>
public sealed class LimitsAcrossReplicasTests
{
    [Fact]
    public async Task The_31st_create_in_a_minute_across_two_api_replicas_gets_429_with_retry_after()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var builder = await TestAppHost.CreateAsync(cts.Token, $"--Parameters:auth-signing-key={TestAuth.SigningKey}");
        // Only the Api and what it needs: Web, the streamers and the sign-in provider (whose settings name Web's endpoint) go.
        foreach (var resource in builder.Resources.Where(r => r.Name is "web" or "streamer" or "identity" or "identitydb").ToList())
        {
            builder.Resources.Remove(resource);
        }
        builder.CreateResourceBuilder<ProjectResource>("api")
            .WithEnvironment("OTEL_EXPORTER_OTLP_ENDPOINT", "")
            .WithEnvironment("Limits__PostsPerMinute", "30");
        await using var app = await builder.BuildAsync(cts.Token);
        await app.StartAsync(cts.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("api", cts.Token);
        var replicas = await app.ReplicaIdsAsync("api", cts.Token);
        Assert.Equal(2, replicas.Count);
        foreach (var replica in replicas)
        {
            await app.WaitUntilAnsweringAsync(replica, cts.Token);
        }
        var user = "limits-e2e-" + Guid.NewGuid();
        var clients = replicas.Select(id => new HttpClient { BaseAddress = app.ReplicaUri(id), DefaultRequestHeaders = { Authorization = TestAuth.Bearer(user) } }).ToList();

        for (var i = 0; i < 30; i++)
        {
            using var created = await clients[i % 2].PostAsJsonAsync("/api/conversations", new { }, cts.Token);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }
        using var refused = await clients[1].PostAsJsonAsync("/api/conversations", new { }, cts.Token);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.InRange(refused.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        using var onTheOther = await clients[0].PostAsJsonAsync("/api/conversations", new { }, cts.Token);
        Assert.Equal(HttpStatusCode.TooManyRequests, onTheOther.StatusCode);
        clients.ForEach(c => c.Dispose());
    }
}
