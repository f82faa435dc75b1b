using AiStreaming.AppHost.Hosting;
using AiStreaming.Tests.EndToEnd;
using Microsoft.Playwright;
using static AiStreaming.Tests.Browser.ChatPage;

namespace AiStreaming.Tests.Browser;

/// <summary>
/// The chat page when the streamer replica it is on dies mid-reply: it reconnects (first retry within 0–250 ms),
/// resumes the channel from its last offset and epoch on whichever replica it reaches, and ends with the stored text.
/// </summary>
[Collection(StackCollection.Name)]
public class ChatPageFaultTests(StackFixture stack, BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private const float Timeout = ChatPage.Timeout;

    [Fact]
    public async Task Killing_the_streamer_replica_the_page_is_on_mid_reply_ends_with_the_stored_text()
    {
        await using var context = await SignedInContextAsync(browser.Browser, stack.WebUri, "replica-kill");
        var page = await context.NewPageAsync();
        await StartConversationAsync(page, stack.WebUri);
        var status = page.GetByTestId("connection-state");

        await SendAsync(page, "Explain what happens when a streamer replica dies");
        var messageId = await WaitForStreamingReplyAsync(page, 40);
        var node = await status.GetAttributeAsync("data-node");
        var killed = stack.StreamerReplicaOf(node);

        // Killed and started again at once: the page reaches the other replica, or this one when it is back.
        await stack.CommandAsync($"streamer-{killed}", KnownResourceCommands.KillCommand);
        await stack.CommandAsync($"streamer-{killed}", KnownResourceCommands.StartCommand);

        var stored = await WaitForStoredAsync(stack, Guid.Parse(messageId));
        await ExpectCompletedWithAsync(page, messageId, stored);
        await Assertions.Expect(status).ToHaveTextAsync("Connected", new() { Timeout = Timeout });
        await Assertions.Expect(status).Not.ToHaveAttributeAsync("data-node", node!, new() { Timeout = Timeout });
    }
}
