using System.Net;
using AiStreaming.Channels;
using AiStreaming.Tests.EndToEnd;
using AiStreaming.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace AiStreaming.Tests.Security;

/// <summary>Rejected client input is logged once without a stack trace; no secret reaches a log line or a process argument.</summary>
[Collection(StackCollection.Name)]
public class LogHygieneTests(StackFixture stack)
{
    [Fact]
    public async Task Rejected_subscribes_are_logged_once_each_without_a_stack_trace()
    {
        var marker = $"conv:{Guid.NewGuid():N}";
        var streamer = stack.App.GetEndpoint("streamer", 0);
        await using var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(streamer, "/hubs/stream"), options =>
            {
                options.Transports = HttpTransportType.WebSockets;
                options.AccessTokenProvider = () => Task.FromResult<string?>(TestAuth.Bearer("dev:mallory").Parameter);
            })
            .Build();
        await connection.StartAsync();
        const int attempts = 20;
        for (var i = 0; i < attempts; i++)
        {
            await Assert.ThrowsAsync<HubException>(async () =>
            {
                await foreach (var _ in connection.StreamAsync<ChannelEvent>("Subscribe", marker, null, null, "bad-token"))
                {
                }
            });
        }

        var logs = stack.App.GetResourceLogs("streamer", 0);
        var mentions = logs.Where(l => l.Contains(marker, StringComparison.Ordinal)).ToList();
        Assert.Equal(attempts, mentions.Count);
        Assert.All(mentions, l => Assert.Contains("forbidden", l));
        Assert.DoesNotContain(logs, l => l.Contains("HubException", StringComparison.Ordinal) || l.TrimStart().StartsWith("at Microsoft.AspNetCore.SignalR", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_malformed_api_body_is_a_400_problem_logged_without_an_unhandled_exception()
    {
        var (conversationId, _) = await stack.CreateConversationAsync();
        using var content = new StringContent("{ not json", System.Text.Encoding.UTF8, "application/json");

        using var response = await stack.Web.PostAsync($"/api/conversations/{conversationId}/messages", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        await Task.Yield();
        Assert.DoesNotContain(stack.App.GetResourceLogs("api"), l => l.Contains("unhandled exception", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void No_secret_appears_in_any_log_line_or_process_argument()
    {
        var secrets = new List<string> { TestAuth.SigningKey };
        foreach (var resource in new[] { "redis", "postgres", "api", "streamer", "web" })
        {
            for (var replica = 0; replica < (resource == "streamer" ? 2 : 1); replica++)
            {
                var logs = stack.App.GetResourceLogs(resource, replica);
                foreach (var secret in secrets)
                {
                    Assert.DoesNotContain(logs, l => l.Contains(secret, StringComparison.Ordinal));
                }
                if (stack.App.GetProcessId(resource, replica) is { } pid && File.Exists($"/proc/{pid}/cmdline"))
                {
                    var arguments = File.ReadAllText($"/proc/{pid}/cmdline");
                    Assert.All(secrets, secret => Assert.DoesNotContain(secret, arguments, StringComparison.Ordinal));
                }
            }
        }
    }
}
