using System.Net;
using AiStreaming.Api.Generation;
using AiStreaming.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AiStreaming.Tests.Api.Generation;

/// <summary>
/// Graceful drain of the Api (SIGTERM): new posts answer 503 at once, running generations finish within
/// <c>Generation:DrainTimeout</c>, and what is left ends <c>failed</c> with <c>generation_lost</c>. Driven through the
/// host's lifetime (<c>StopApplication</c>) and the drain's own <c>StopAsync</c>, as the host calls them.
/// </summary>
[Collection(ServersCollection.Name)]
public class DrainTests(ServersFixture servers)
{
    [Fact]
    public async Task On_shutdown_new_posts_get_503_and_a_running_generation_finishes_within_the_drain_timeout()
    {
        await using var api = new ApiFactory(servers, ApiFactory.Slow(1, ("Generation:DrainTimeout", "00:00:20")));
        var http = api.CreateClient();
        var busy = await http.CreateConversationAsync();
        var idle = await http.CreateConversationAsync();
        var accepted = await http.PostAcceptedAsync(busy, "Finish me while the Api drains");
        await servers.WaitForDeltasAsync(busy, accepted.MessageId, 1);

        var stopped = await StopAsync(api, async () =>
        {
            using var refused = await http.PostMessageAsync(idle, "Too late");
            var problem = await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable);
            Assert.Equal("Shutting down", problem.GetProperty("title").GetString());
        });

        Assert.Equal(MessageStatus.Completed, await servers.ScalarAsync<string>("SELECT status FROM messages WHERE id = @id", ("id", accepted.MessageId)));
        var content = await servers.ScalarAsync<string>("SELECT content FROM messages WHERE id = @id", ("id", accepted.MessageId));
        Assert.Equal(content, (await servers.WaitForTerminalEventAsync(busy, accepted.MessageId)).DeltaText());
        Assert.Equal(0L, await servers.ScalarAsync<long>("SELECT count(*) FROM messages WHERE conversation_id = @id", ("id", idle)));
        Assert.Equal(0, stopped);
    }

    [Fact]
    public async Task A_generation_still_running_after_the_drain_timeout_ends_failed_with_generation_lost_and_its_partial_text()
    {
        await using var api = new ApiFactory(servers, ApiFactory.Slow(30, ("Generation:DrainTimeout", "00:00:00.200")));
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();
        var accepted = await http.PostAcceptedAsync(id, "Too long to finish");
        await servers.WaitForDeltasAsync(id, accepted.MessageId, 2);

        Assert.Equal(0, await StopAsync(api, () => Task.CompletedTask));

        Assert.Equal(MessageStatus.Failed, await servers.ScalarAsync<string>("SELECT status FROM messages WHERE id = @id", ("id", accepted.MessageId)));
        Assert.Equal(FailureCodes.GenerationLost, await servers.ScalarAsync<string>("SELECT error_code FROM messages WHERE id = @id", ("id", accepted.MessageId)));
        var content = await servers.ScalarAsync<string>("SELECT content FROM messages WHERE id = @id", ("id", accepted.MessageId));
        Assert.NotEmpty(content);
        var events = await servers.WaitForTerminalEventAsync(id, accepted.MessageId);
        Assert.Equal(content, events.DeltaText());
        Assert.Equal(content, events[^1].DataString("text"));
    }

    // Stops the host as SIGTERM does, runs what the test checks while it drains, waits until it stopped, and returns
    // how many generations were still registered then.
    private static async Task<int> StopAsync(ApiFactory api, Func<Task> whileDraining)
    {
        var lifetime = api.Services.GetRequiredService<IHostApplicationLifetime>();
        var registry = api.Services.GetRequiredService<GenerationRegistry>();
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = lifetime.ApplicationStopped.Register(stopped.SetResult);
        lifetime.StopApplication();
        await whileDraining();
        await stopped.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return registry.Count;
    }
}
