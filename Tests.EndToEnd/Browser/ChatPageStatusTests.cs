using System.Text.Json;
using System.Text.RegularExpressions;
using AiStreaming.Channels;
using AiStreaming.Tests.EndToEnd;
using AiStreaming.Tests.Infrastructure;
using Aspire.Hosting.Testing;
using Microsoft.Playwright;
using StackExchange.Redis;
using static AiStreaming.Tests.Browser.ChatPage;

namespace AiStreaming.Tests.Browser;

/// <summary>
/// What the chat page shows for the states a reply or the live connection can be in (docs/protocol.md): the
/// <c>reconnecting</c> control frame, <c>message.queued</c>, an abandoned or queue-timed-out reply, a 429 on send,
/// and a browser without WebSockets. Frames are published straight into the conversation's channel with Channels'
/// <see cref="ChannelPublisher"/>, as the Api and the streamer would; assertions are on what the page shows.
/// </summary>
[Collection(StackCollection.Name)]
public class ChatPageStatusTests(StackFixture stack, BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private const float Timeout = ChatPage.Timeout;

    [Fact]
    public async Task Reconnecting_shows_until_the_next_frame_and_a_queued_reply_shows_its_position_then_a_readable_queue_timeout()
    {
        await using var context = await SignedInContextAsync(browser.Browser, stack.WebUri, "queued");
        var page = await context.NewPageAsync();
        var conversationId = await StartConversationAsync(page, stack.WebUri);
        await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-transport", "websockets");
        await ExpectSubscribedAsync(page);
        await using var channel = await ChannelAsync(conversationId);
        var status = page.GetByTestId("connection-state");
        await Assertions.Expect(status).ToHaveAttributeAsync("data-node", new Regex(":[0-9]+$")); // host:pid of its streamer

        // A phone-sized window: the sidebar (and its status) is a closed drawer, so the header repeats the status.
        await page.SetViewportSizeAsync(400, 800);
        var headerStatus = page.GetByTestId("header-connection-state");
        await Assertions.Expect(headerStatus).ToBeHiddenAsync();

        // Every text the status shows, in order: a frame that follows at once may end "Reconnecting…" before a poll sees it.
        await page.EvaluateAsync("""
            () => {
              window.statusTexts = [];
              const seen = () => window.statusTexts.push(document.querySelector('[data-testid=connection-state]').textContent
                + '|' + !document.querySelector('[data-testid=header-connection-state]').hidden);
              new MutationObserver(seen).observe(document.querySelector('[data-testid=connection-state]'), { childList: true, characterData: true, subtree: true });
            }
            """);
        var receivers = await channel.PublishEphemeralAsync("reconnecting", """{ "reason": "redis_unavailable" }""");
        Assert.True(receivers > 0, "No streamer holds the channel's Redis subscription.");
        await Eventually.UntilAsync(async () => (await page.EvaluateAsync<string[]>("() => window.statusTexts")).Contains("Reconnecting…|true"),
            TimeSpan.FromMilliseconds(Timeout), "the status, and the header's on a narrow screen, to show Reconnecting…");

        var messageId = Guid.NewGuid();
        await channel.PublishAsync("message.queued", messageId, """{ "position": 2 }""");
        await Assertions.Expect(status).ToHaveTextAsync("Connected", new() { Timeout = Timeout }); // events flow again
        await Assertions.Expect(headerStatus).ToBeHiddenAsync();
        var reply = Message(page, messageId.ToString("D"));
        await Assertions.Expect(reply).ToHaveAttributeAsync("data-status", "queued", new() { Timeout = Timeout });
        await Assertions.Expect(reply.GetByTestId("message-note")).ToContainTextAsync("Queued (position 2)");
        await Assertions.Expect(page.GetByTestId("stop")).ToBeVisibleAsync();

        await channel.PublishAsync("message.queued", messageId, """{ "position": 1 }""");
        await Assertions.Expect(reply.GetByTestId("message-note")).ToContainTextAsync("Queued (position 1)", new() { Timeout = Timeout });

        await channel.PublishAsync("message.failed", messageId, """{ "code": "queue_timeout", "message": "Waited 60 s for a model slot.", "text": "" }""");
        await Assertions.Expect(reply).ToHaveAttributeAsync("data-status", "failed", new() { Timeout = Timeout });
        await Assertions.Expect(reply.GetByTestId("message-note")).ToHaveTextAsync(
            "Failed: The model was busy: the reply waited too long for its turn. Try again. (queue_timeout)");
        await Assertions.Expect(page.GetByTestId("stop")).ToBeHiddenAsync();
    }

    [Fact]
    public async Task An_abandoned_reply_says_nobody_was_watching_and_keeps_its_text()
    {
        await using var context = await SignedInContextAsync(browser.Browser, stack.WebUri, "abandoned");
        var page = await context.NewPageAsync();
        var conversationId = await StartConversationAsync(page, stack.WebUri);
        await ExpectSubscribedAsync(page);
        await using var channel = await ChannelAsync(conversationId);

        var messageId = Guid.NewGuid();
        await channel.PublishAsync("message.started", messageId, """{ "role": "assistant" }""");
        await channel.PublishAsync("delta", messageId, """{ "text": "Half a thought" }""");
        var reply = Message(page, messageId.ToString("D"));
        await Assertions.Expect(reply).ToHaveAttributeAsync("data-status", "streaming", new() { Timeout = Timeout });

        await channel.PublishAsync("message.cancelled", messageId, """{ "text": "Half a thought", "reason": "abandoned" }""");
        await Assertions.Expect(reply).ToHaveAttributeAsync("data-status", "cancelled", new() { Timeout = Timeout });
        await Assertions.Expect(reply.GetByTestId("message-note")).ToHaveTextAsync("Stopped: nobody was watching the reply.");
        await Assertions.Expect(reply.GetByTestId("message-text")).ToHaveTextAsync("Half a thought");
    }

    [Fact]
    public async Task A_rate_limited_send_says_so_and_keeps_the_text()
    {
        await using var context = await SignedInContextAsync(browser.Browser, stack.WebUri, "limited");
        var page = await context.NewPageAsync();
        await StartConversationAsync(page, stack.WebUri);
        await page.RouteAsync("**/api/conversations/*/messages", route => route.FulfillAsync(new()
        {
            Status = 429,
            Headers = new Dictionary<string, string> { ["Retry-After"] = "7" },
            ContentType = "application/problem+json",
            Body = """{ "title": "Too many requests", "status": 429, "detail": "Too many messages: wait a moment." }""",
        }));

        await SendAsync(page, "One message too many");
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync(
            "Rate limited: you are sending too fast. Try again in 7 s.", new() { Timeout = Timeout });
        await Assertions.Expect(page.GetByTestId("message-input")).ToHaveValueAsync("One message too many");
        await Assertions.Expect(page.Locator("[data-testid=message][data-role=user]")).ToHaveAttributeAsync("data-status", "failed");
    }

    /// <summary>
    /// A browser without WebSockets (none at all, or one whose every WebSocket handshake is refused, as by a proxy that does
    /// not upgrade) streams over the stateless <c>/sse/{channel}</c> endpoint: never SignalR's negotiate, whose later
    /// requests would need to reach the same replica behind Aspire's proxy, which has no affinity.
    /// </summary>
    [Theory]
    [InlineData("delete window.WebSocket;")]
    [InlineData("window.WebSocket = class extends WebSocket { constructor(url, protocols) { super(url.replace('/hubs/stream', '/no-upgrade-here'), protocols); } };")]
    public async Task Without_WebSockets_the_page_streams_over_sse_and_shows_the_stored_text(string withoutWebSockets)
    {
        await using var context = await SignedInContextAsync(browser.Browser, stack.WebUri, "no-websockets");
        await context.AddInitScriptAsync(withoutWebSockets);
        var hubRequests = new List<string>();
        context.Request += (_, request) =>
        {
            if (request.Url.Contains("/hubs/", StringComparison.Ordinal))
            {
                lock (hubRequests)
                {
                    hubRequests.Add(request.Method + " " + request.Url);
                }
            }
        };
        var page = await context.NewPageAsync();
        await StartConversationAsync(page, stack.WebUri);
        await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-transport", "sse", new() { Timeout = Timeout });
        await Assertions.Expect(page.GetByTestId("connection-state")).ToHaveAttributeAsync("data-node", new Regex(":[0-9]+$"), new() { Timeout = Timeout });

        await SendAsync(page, "Stream this without WebSockets");
        var messageId = await WaitForStreamingReplyAsync(page, 1);
        var stored = await WaitForStoredAsync(stack, Guid.Parse(messageId));
        await ExpectCompletedWithAsync(page, messageId, stored);
        lock (hubRequests)
        {
            Assert.Empty(hubRequests); // no negotiate, no SignalR SSE or long polling
        }
    }

    // The page asks the hub for presence once its subscription is confirmed.
    private static Task ExpectSubscribedAsync(IPage page) =>
        Assertions.Expect(page.GetByTestId("presence")).ToHaveTextAsync("1 watching", new() { Timeout = Timeout });

    private async Task<TestChannel> ChannelAsync(Guid conversationId)
    {
        var redis = await ConnectionMultiplexer.ConnectAsync((await stack.App.GetConnectionStringAsync("redis"))!);
        return new TestChannel(redis, ChannelName.Parse($"conv:{conversationId:D}"));
    }

    /// <summary>Publishes into one conversation's channel as the Api (events with offsets) or a streamer (ephemeral frames) would.</summary>
    private sealed class TestChannel(ConnectionMultiplexer redis, ChannelName name) : IAsyncDisposable
    {
        private readonly ChannelPublisher _publisher = new(redis, new ChannelOptions());

        public Task PublishAsync(string type, Guid messageId, string data) =>
            _publisher.PublishAsync(name, type, messageId, JsonDocument.Parse(data).RootElement);

        /// <summary>Publishes an ephemeral frame; returns how many Redis subscribers (streamer replicas) received it.</summary>
        public Task<long> PublishEphemeralAsync(string type, string data) =>
            ChannelPublisher.PublishEphemeralAsync(redis.GetSubscriber(), name, type, JsonDocument.Parse(data).RootElement);

        public ValueTask DisposeAsync() => redis.DisposeAsync();
    }
}
