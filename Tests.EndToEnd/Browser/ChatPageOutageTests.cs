using AiStreaming.AppHost.Hosting;
using AiStreaming.Tests.EndToEnd;
using Microsoft.Playwright;
using static AiStreaming.Tests.Browser.ChatPage;

namespace AiStreaming.Tests.Browser;

/// <summary>
/// The chat page during a Redis outage mid-reply: the streamer's <c>reconnecting</c> frame shows as "Reconnecting…",
/// and when Redis is back the page is connected again and ends with the stored text.
/// </summary>
[Collection(StackCollection.Name)]
public class ChatPageOutageTests(StackFixture stack, BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private const float Timeout = ChatPage.Timeout;

    [Fact]
    public async Task A_redis_outage_mid_reply_shows_reconnecting_then_the_stored_text()
    {
        await using var context = await SignedInContextAsync(browser.Browser, stack.WebUri, "outage");
        var page = await context.NewPageAsync();
        await StartConversationAsync(page, stack.WebUri);
        var status = page.GetByTestId("connection-state");

        await SendAsync(page, "What happens when Redis goes away?");
        var messageId = await WaitForStreamingReplyAsync(page, 40);
        await stack.CommandAsync("redis", KnownResourceCommands.StopCommand);
        try
        {
            await Assertions.Expect(status).ToHaveTextAsync("Reconnecting…", new() { Timeout = 10_000 });
        }
        finally
        {
            await Task.Delay(3000); // an outage that lasts a moment, as a restart does
            await stack.CommandAsync("redis", KnownResourceCommands.StartCommand);
        }
        await Assertions.Expect(status).ToHaveTextAsync("Connected", new() { Timeout = Timeout });
        var stored = await WaitForStoredAsync(stack, Guid.Parse(messageId));
        await ExpectCompletedWithAsync(page, messageId, stored);
    }
}
