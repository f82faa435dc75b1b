using System.Text.Json;
using AiStreaming.Tests.EndToEnd;
using Microsoft.Playwright;
using static AiStreaming.Tests.Browser.ChatPage;

namespace AiStreaming.Tests.Browser;

/// <summary>
/// The chat page in a real browser against the running stack: resume after reload, tabs in sync, and two users in two
/// browser contexts who never see each other's conversations. Asserts what the page shows (<see cref="ChatPage"/>).
/// </summary>
[Collection(StackCollection.Name)]
public class ChatPageTests(StackFixture stack, BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private const float Timeout = ChatPage.Timeout;

    [Fact]
    public async Task Reloading_mid_stream_shows_the_text_so_far_and_continues_to_the_stored_text()
    {
        await using var context = await SignedInContextAsync(browser.Browser, stack.WebUri, "reloader");
        var page = await context.NewPageAsync();
        var conversationId = await StartConversationAsync(page, stack.WebUri);

        await SendAsync(page, "Explain how resume after reload works");
        var messageId = await WaitForStreamingReplyAsync(page, 60);
        var before = await Message(page, messageId).GetByTestId("message-text").InnerTextAsync();

        await page.ReloadAsync();
        // Right after the reload the page shows the same reply with the text it had (from sessionStorage or history replay)...
        var firstLine = before.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0].Trim();
        await Assertions.Expect(Message(page, messageId).GetByTestId("message-text"))
            .ToContainTextAsync(firstLine[..Math.Min(15, firstLine.Length)], new() { Timeout = Timeout });
        // ...and continues live to the end.
        var stored = await WaitForStoredAsync(stack, Guid.Parse(messageId));
        await ExpectCompletedWithAsync(page, messageId, stored);
        Assert.Equal(conversationId, ConversationIdOf(page));
    }

    [Fact]
    public async Task Two_tabs_on_one_conversation_show_the_same_text_including_a_tab_that_joins_mid_stream()
    {
        await using var context = await SignedInContextAsync(browser.Browser, stack.WebUri, "tabs");
        var first = await context.NewPageAsync();
        await StartConversationAsync(first, stack.WebUri);
        var second = await context.NewPageAsync();
        await second.GotoAsync(first.Url);
        await ExpectConnectedAsync(second);

        await SendAsync(first, "Summarize presence and multi-tab sync");
        var messageId = await WaitForStreamingReplyAsync(first, 40);
        var third = await context.NewPageAsync(); // joins mid-stream
        await third.GotoAsync(first.Url);

        var stored = await WaitForStoredAsync(stack, Guid.Parse(messageId));
        foreach (var page in new[] { first, second, third })
        {
            await ExpectCompletedWithAsync(page, messageId, stored);
        }
        // The second tab also shows the user's prompt it never typed.
        await Assertions.Expect(second.Locator("[data-testid=message][data-role=user]").GetByTestId("message-text"))
            .ToHaveTextAsync("Summarize presence and multi-tab sync", new() { Timeout = Timeout });
    }


    [Fact]
    public async Task The_browsers_EventSource_reads_the_sse_endpoint_through_web_and_rebuilds_the_stored_text()
    {
        var (conversationId, channel) = await stack.CreateConversationAsync();
        await using var context = await SignedInContextAsync(browser.Browser, stack.WebUri, stack.Session.Name); // the conversation's owner
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
        await using var aliceContext = await SignedInContextAsync(browser.Browser, stack.WebUri, "Alice " + Guid.NewGuid().ToString("N")[..6]);
        await using var bobContext = await SignedInContextAsync(browser.Browser, stack.WebUri, "Bob " + Guid.NewGuid().ToString("N")[..6]);
        var alice = await aliceContext.NewPageAsync();
        var aliceConversation = await StartConversationAsync(alice, stack.WebUri);
        await SendAsync(alice, "Alice's private question");
        await Assertions.Expect(Replies(alice).Last).ToHaveAttributeAsync("data-status", "completed", new() { Timeout = Timeout });

        var bob = await bobContext.NewPageAsync();
        await bob.GotoAsync(new Uri(stack.WebUri, $"/c/{aliceConversation}").ToString());
        await Assertions.Expect(bob.GetByRole(AriaRole.Alert)).ToHaveTextAsync("That conversation does not exist.", new() { Timeout = Timeout });
        await Assertions.Expect(bob).ToHaveURLAsync(new Uri(stack.WebUri, "/").ToString());
        await Assertions.Expect(bob.GetByTestId("message")).ToHaveCountAsync(0);
        await Assertions.Expect(bob.Locator($"a[href='/c/{aliceConversation}']")).ToHaveCountAsync(0);
        await Assertions.Expect(bob.GetByText("Alice's private question")).ToHaveCountAsync(0);

        // Bob's own conversation is his alone; Alice's list has hers and not his.
        var bobConversation = await StartConversationAsync(bob, stack.WebUri);
        await alice.ReloadAsync();
        await Assertions.Expect(alice.Locator($"a[href='/c/{aliceConversation}']")).ToBeVisibleAsync(new() { Timeout = Timeout });
        await Assertions.Expect(alice.Locator($"a[href='/c/{bobConversation}']")).ToHaveCountAsync(0);
    }
}
