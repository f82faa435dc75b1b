using System.Text.RegularExpressions;
using System.Web;
using AiStreaming.Tests.EndToEnd;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Playwright;
using static AiStreaming.Tests.Browser.ChatPage;

namespace AiStreaming.Tests.Browser;

/// <summary>
/// The chat page under faults mid-reply. When the streamer replica it is on dies, it reconnects (first retry within
/// 0–250 ms), resumes the channel from its last offset and epoch on whichever replica it reaches, and ends with the
/// stored text. During a Redis outage the streamer's <c>reconnecting</c> frame shows as "Reconnecting…", and when Redis
/// is back the page is connected again and ends with the stored text.
/// </summary>
[Collection(StackCollection.Name)]
public class ChatPageFaultTests(StackFixture stack, BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private const float Timeout = ChatPage.Timeout;

    [Fact]
    public async Task Killing_the_streamer_replica_the_page_is_on_mid_reply_ends_with_the_stored_text()
    {
        await using var context = await SignedInContextAsync(browser.Browser, stack.WebUri, "replica-kill");
        var (page, status, messageId) = await StartStreamingReplyAsync(context, "Explain what happens when a streamer replica dies");
        var node = await status.GetAttributeAsync("data-node");
        var killed = stack.StreamerReplicaOf(node);

        // Killed (SIGKILL, as a crash) and started again at once: the page reaches the other replica through Aspire's
        // proxy, or this one when it is back.
        await stack.KillAsync(stack.StreamerIds[killed]);
        await stack.StartAsync(stack.StreamerIds[killed]);

        var stored = await WaitForStoredAsync(stack, Guid.Parse(messageId));
        await ExpectCompletedWithAsync(page, messageId, stored);
        await Assertions.Expect(status).ToHaveTextAsync("Connected", new() { Timeout = Timeout });
        await Assertions.Expect(status).Not.ToHaveAttributeAsync("data-node", node!, new() { Timeout = Timeout });
    }

    [Fact]
    public async Task Without_WebSockets_killing_the_streamer_replica_mid_reply_resumes_the_event_stream_from_its_last_id()
    {
        await using var context = await SignedInContextAsync(browser.Browser, stack.WebUri, "sse-replica-kill");
        await context.AddInitScriptAsync("delete window.WebSocket;");
        var streams = new List<IRequest>();
        context.Request += (_, request) =>
        {
            if (new Uri(request.Url).AbsolutePath.StartsWith("/sse/", StringComparison.Ordinal))
            {
                lock (streams)
                {
                    streams.Add(request);
                }
            }
        };
        var (page, status, messageId) = await StartStreamingReplyAsync(context, "Explain what happens when a streamer replica dies under SSE");
        await Assertions.Expect(status).ToHaveAttributeAsync("data-transport", "sse");
        var node = await status.GetAttributeAsync("data-node");
        var killed = stack.StreamerReplicaOf(node);

        await stack.KillAsync(stack.StreamerIds[killed]);
        await stack.StartAsync(stack.StreamerIds[killed]);

        var stored = await WaitForStoredAsync(stack, Guid.Parse(messageId));
        await ExpectCompletedWithAsync(page, messageId, stored);
        await Assertions.Expect(status).Not.ToHaveAttributeAsync("data-node", node!, new() { Timeout = Timeout });
        // The first request starts live; a later one resumes from a position "{epoch}:{offset}": EventSource's own
        // reconnect sends it as Last-Event-ID, a stream the page opens again (after a refusal) in the query.
        IRequest[] requests;
        lock (streams)
        {
            requests = [.. streams];
        }
        var positions = new List<string?>();
        foreach (var request in requests)
        {
            var headers = await request.AllHeadersAsync();
            positions.Add(headers.GetValueOrDefault("last-event-id") ?? HttpUtility.ParseQueryString(new Uri(request.Url).Query)["lastEventId"]);
        }
        Assert.Null(positions[0]);
        Assert.Contains(positions, position => position is not null && Regex.IsMatch(position, "^[0-9a-f]{12}:[1-9][0-9]*$"));
    }

    [Fact]
    public async Task A_redis_outage_mid_reply_shows_reconnecting_then_the_stored_text()
    {
        await using var context = await SignedInContextAsync(browser.Browser, stack.WebUri, "outage");
        var (page, status, messageId) = await StartStreamingReplyAsync(context, "What happens when Redis goes away?");
        await stack.CommandAsync("redis", KnownResourceCommands.StopCommand);
        try
        {
            await Assertions.Expect(status).ToHaveTextAsync("Reconnecting…", new() { Timeout = 10_000 });
        }
        finally
        {
            // Back once the page has shown the outage, as after a restart; the test goes on when Aspire sees Redis healthy.
            await stack.CommandAsync("redis", KnownResourceCommands.StartCommand);
            // Right after the command Redis may still show the stop's terminal state: wait through it until it is healthy.
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await stack.App.ResourceNotifications.WaitForResourceHealthyAsync("redis", WaitBehavior.WaitOnResourceUnavailable, timeout.Token);
        }
        await Assertions.Expect(status).ToHaveTextAsync("Connected", new() { Timeout = Timeout });
        var stored = await WaitForStoredAsync(stack, Guid.Parse(messageId));
        await ExpectCompletedWithAsync(page, messageId, stored);
    }

    /// <summary>Opens a page in <paramref name="context"/>, starts a chat, sends <paramref name="prompt"/> and waits until 40 characters of the reply show.</summary>
    private async Task<(IPage Page, ILocator Status, string MessageId)> StartStreamingReplyAsync(IBrowserContext context, string prompt)
    {
        var page = await context.NewPageAsync();
        await StartConversationAsync(page, stack.WebUri);
        var status = page.GetByTestId("connection-state");
        await SendAsync(page, prompt);
        return (page, status, await WaitForStreamingReplyAsync(page, 40));
    }
}
