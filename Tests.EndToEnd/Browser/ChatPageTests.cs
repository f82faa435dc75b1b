using System.Text.Json;
using AiStreaming.Tests.EndToEnd;
using Microsoft.Playwright;

namespace AiStreaming.Tests.Browser;

/// <summary>
/// The chat page in a real browser against the running stack: resume after reload, tabs in sync, and two users in two
/// browser contexts who never see each other's conversations.
/// </summary>
[Collection(StackCollection.Name)]
public class ChatPageTests(StackFixture stack, BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private const float Timeout = 60_000;

    private sealed record MessageView(string Id, string Role, string Status, string Text);

    [Fact]
    public async Task Reloading_mid_stream_shows_the_text_so_far_and_continues_to_the_stored_text()
    {
        await using var context = await SignedInContextAsync("reloader");
        var page = await context.NewPageAsync();
        var conversationId = await StartConversationAsync(page);

        await SendAsync(page, "Explain how resume after reload works");
        var before = await WaitForAssistantAsync(page, m => m.Status == "streaming" && m.Text.Length > 60, "the reply to stream");

        await page.ReloadAsync();
        // Right after the reload the page shows at least the text it had (from sessionStorage or history replay)...
        var resumed = await WaitForAssistantAsync(page, m => m.Id == before.Id && m.Text.Length >= before.Text.Length, "the resumed text");
        Assert.StartsWith(before.Text, resumed.Text);
        // ...and continues live to the end.
        var done = await WaitForAssistantAsync(page, m => m.Id == before.Id && m.Status == "completed", "the reply to complete");

        var stored = await stack.ReadStoredMessageAsync(Guid.Parse(done.Id));
        Assert.Equal(stored.Content, done.Text);
        Assert.Contains(conversationId.ToString(), page.Url);
        Assert.True(await page.Locator("[data-testid=message-text]").Last.InnerTextAsync() is { Length: > 0 });
    }

    [Fact]
    public async Task Two_tabs_on_one_conversation_show_the_same_text_including_a_tab_that_joins_mid_stream()
    {
        await using var context = await SignedInContextAsync("tabs");
        var first = await context.NewPageAsync();
        await StartConversationAsync(first);
        var second = await context.NewPageAsync();
        await second.GotoAsync(first.Url);
        await second.WaitForFunctionAsync("() => window.aiStreaming?.state().connection === 'connected'", null, new() { Timeout = Timeout });

        await SendAsync(first, "Summarize presence and multi-tab sync");
        var streaming = await WaitForAssistantAsync(first, m => m.Status == "streaming" && m.Text.Length > 40, "the reply to stream");
        var third = await context.NewPageAsync(); // joins mid-stream
        await third.GotoAsync(first.Url);

        var results = new List<MessageView>();
        foreach (var page in new[] { first, second, third })
        {
            results.Add(await WaitForAssistantAsync(page, m => m.Id == streaming.Id && m.Status == "completed", "every tab to complete"));
        }

        var stored = await stack.ReadStoredMessageAsync(Guid.Parse(streaming.Id));
        Assert.All(results, r => Assert.Equal(stored.Content, r.Text));
        // The second tab also shows the user's prompt it never typed.
        var secondMessages = await MessagesAsync(second);
        Assert.Contains(secondMessages, m => m.Role == "user" && m.Text == "Summarize presence and multi-tab sync");
    }

    [Fact]
    public async Task The_browsers_EventSource_reads_the_sse_endpoint_through_web_and_rebuilds_the_stored_text()
    {
        var (conversationId, channel) = await stack.CreateConversationAsync();
        await using var context = await SignedInContextAsync(stack.Session.Name); // the conversation's owner
        var page = await context.NewPageAsync();
        await page.GotoAsync(stack.WebUri.ToString());

        // A plain EventSource (no SignalR): named events, ids "{epoch}:{offset}", deltas concatenated until completed.
        // EventSource cannot set headers: the subscription token goes in the URL.
        await page.EvaluateAsync("""
            async channel => {
              window.sse = { text: '', final: null, ids: [], opened: false };
              const { token } = await (await fetch(`/api/conversations/${channel.slice(5)}/token`)).json();
              const source = new EventSource(`/sse/${channel}?token=${encodeURIComponent(token)}`);
              source.onopen = () => window.sse.opened = true;
              source.addEventListener('delta', e => { window.sse.text += JSON.parse(e.data).data.text; window.sse.ids.push(e.lastEventId); });
              source.addEventListener('message.completed', e => { window.sse.final = JSON.parse(e.data).data.text; source.close(); });
            }
            """, channel);
        await page.WaitForFunctionAsync("() => window.sse.opened", null, new() { Timeout = Timeout });
        var messageId = await stack.PostMessageAsync(conversationId, "Stream this to an EventSource");
        await page.WaitForFunctionAsync("() => window.sse.final !== null", null, new() { Timeout = Timeout });

        var result = await page.EvaluateAsync<JsonElement>("() => window.sse");
        var stored = await stack.ReadStoredMessageAsync(messageId);
        Assert.Equal(stored.Content, result.GetProperty("text").GetString());
        Assert.Equal(stored.Content, result.GetProperty("final").GetString());
        Assert.All(result.GetProperty("ids").EnumerateArray(), id => Assert.Matches("^[0-9a-f]{12}:[0-9]+$", id.GetString()!));
    }

    [Fact]
    public async Task Two_users_in_two_browsers_never_see_each_others_conversations()
    {
        await using var aliceContext = await SignedInContextAsync("Alice " + Guid.NewGuid().ToString("N")[..6]);
        await using var bobContext = await SignedInContextAsync("Bob " + Guid.NewGuid().ToString("N")[..6]);
        var alice = await aliceContext.NewPageAsync();
        var aliceConversation = await StartConversationAsync(alice);
        await SendAsync(alice, "Alice's private question");
        await WaitForAssistantAsync(alice, m => m.Status == "completed", "Alice's reply");

        var bob = await bobContext.NewPageAsync();
        await bob.GotoAsync(new Uri(stack.WebUri, $"/c/{aliceConversation}").ToString());
        await bob.GetByText("That conversation does not exist.").WaitForAsync(new() { Timeout = Timeout });

        var bobState = await bob.EvaluateAsync<JsonElement>("() => window.aiStreaming.state()");
        Assert.Equal(JsonValueKind.Null, bobState.GetProperty("conversationId").ValueKind);
        Assert.Empty(bobState.GetProperty("messages").EnumerateArray());
        Assert.Equal(0, await bob.Locator($"a[href='/c/{aliceConversation}']").CountAsync());
        Assert.DoesNotContain("Alice's private question", await bob.ContentAsync());

        // Bob's own conversation is his alone; Alice's list has hers and not his.
        var bobConversation = await StartConversationAsync(bob);
        await alice.ReloadAsync();
        await alice.Locator($"a[href='/c/{aliceConversation}']").WaitForAsync(new() { Timeout = Timeout });
        Assert.Equal(0, await alice.Locator($"a[href='/c/{bobConversation}']").CountAsync());
    }

    /// <summary>A browser context signed in through the development sign-in page as <paramref name="name"/>.</summary>
    private async Task<IBrowserContext> SignedInContextAsync(string name)
    {
        var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(stack.WebUri.ToString()); // redirected to the sign-in page
        await page.GetByTestId("signin-name").FillAsync(name);
        await page.GetByTestId("signin-submit").ClickAsync();
        await page.GetByTestId("user-name").WaitForAsync(new() { Timeout = Timeout });
        Assert.Equal(name, await page.GetByTestId("user-name").InnerTextAsync());
        await page.CloseAsync();
        return context;
    }

    private async Task<Guid> StartConversationAsync(IPage page)
    {
        await page.GotoAsync(stack.WebUri.ToString());
        await page.GetByTestId("new-conversation").ClickAsync();
        await page.WaitForFunctionAsync(
            "() => window.aiStreaming?.state().conversationId && window.aiStreaming.state().connection === 'connected'",
            null, new() { Timeout = Timeout });
        var state = await page.EvaluateAsync<JsonElement>("() => window.aiStreaming.state()");
        return Guid.Parse(state.GetProperty("conversationId").GetString()!);
    }

    private static async Task SendAsync(IPage page, string text)
    {
        await page.GetByTestId("message-input").FillAsync(text);
        await page.GetByTestId("send").ClickAsync();
    }

    private static async Task<List<MessageView>> MessagesAsync(IPage page)
    {
        var state = await page.EvaluateAsync<JsonElement>("() => window.aiStreaming.state()");
        return [.. state.GetProperty("messages").EnumerateArray().Select(m => new MessageView(
            m.GetProperty("id").GetString()!, m.GetProperty("role").GetString()!,
            m.GetProperty("status").GetString()!, m.GetProperty("text").GetString() ?? ""))];
    }

    private static async Task<MessageView> WaitForAssistantAsync(IPage page, Func<MessageView, bool> condition, string what)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(Timeout));
        while (true)
        {
            try
            {
                var match = (await MessagesAsync(page)).LastOrDefault(m => m.Role == "assistant" && condition(m));
                if (match is not null)
                {
                    return match;
                }
            }
            catch (PlaywrightException)
            {
                // navigation in progress (reload): the page's script is not there yet
            }
            try
            {
                await Task.Delay(50, cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out waiting for {what}; page state: {JsonSerializer.Serialize(await MessagesAsync(page))}");
            }
        }
    }
}
