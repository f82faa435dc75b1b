using System.Text.RegularExpressions;
using AiStreaming.Tests.EndToEnd;
using Microsoft.Playwright;

namespace AiStreaming.Tests.Browser;

/// <summary>
/// The chat page as a user sees it (Web/Pages/Index.cshtml and wwwroot/js/chat): sign-in, conversations, messages
/// (<c>article[data-testid=message]</c> with <c>data-role</c>, <c>data-status</c>, <c>data-message-id</c>), the
/// live-updates status (<c>connection-state</c>) and the composer. Tests assert on these with Playwright's
/// auto-waiting assertions, never on the page's script state.
/// </summary>
internal static partial class ChatPage
{
    /// <summary>How long an assertion waits for the page: replies take seconds on a busy 2-core machine.</summary>
    public const float Timeout = 60_000;

    /// <summary>
    /// A browser context signed in as <paramref name="name"/> through the development provider's login page (OpenID
    /// Connect): "Create account" makes the user the first time and signs in with its password afterwards.
    /// </summary>
    public static async Task<IBrowserContext> SignedInContextAsync(IBrowser browser, Uri web, string name)
    {
        var context = await browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(web.ToString()); // redirected to the provider's login page
        await page.GetByTestId("login-username").FillAsync(name);
        await page.GetByTestId("login-password").FillAsync(WebSession.Password);
        await page.GetByTestId("login-register").ClickAsync();
        await Assertions.Expect(page.GetByTestId("user-name")).ToHaveTextAsync(name, new() { Timeout = Timeout });
        await page.CloseAsync();
        return context;
    }

    /// <summary>Opens the page, starts a new chat and waits until its URL names it and live updates are connected.</summary>
    public static async Task<Guid> StartConversationAsync(IPage page, Uri web)
    {
        await page.GotoAsync(web.ToString());
        await page.GetByTestId("new-conversation").ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(ConversationUrl(), new() { Timeout = Timeout });
        await ExpectConnectedAsync(page);
        return ConversationIdOf(page);
    }

    /// <summary>The conversation id in the page's URL (<c>/c/{id}</c>).</summary>
    public static Guid ConversationIdOf(IPage page) => Guid.Parse(ConversationUrl().Match(page.Url).Groups[1].Value);

    /// <summary>Waits until the live-updates status says "Connected".</summary>
    public static Task ExpectConnectedAsync(IPage page) =>
        Assertions.Expect(page.GetByTestId("connection-state")).ToHaveTextAsync("Connected", new() { Timeout = Timeout });

    /// <summary>Types <paramref name="text"/> and presses Send.</summary>
    public static async Task SendAsync(IPage page, string text)
    {
        await page.GetByTestId("message-input").FillAsync(text);
        await page.GetByTestId("send").ClickAsync();
    }

    /// <summary>The assistant replies shown, in order.</summary>
    public static ILocator Replies(IPage page) => page.Locator("[data-testid=message][data-role=assistant]");

    /// <summary>The message shown with id <paramref name="messageId"/>.</summary>
    public static ILocator Message(IPage page, string messageId) => page.Locator($"[data-testid=message][data-message-id='{messageId}']");

    /// <summary>Waits for a reply that is streaming and already shows at least <paramref name="characters"/> characters; returns its id.</summary>
    public static async Task<string> WaitForStreamingReplyAsync(IPage page, int characters)
    {
        var reply = page.Locator("[data-testid=message][data-role=assistant][data-status=streaming]")
            .Filter(new() { Has = page.GetByTestId("message-text").Filter(new() { HasTextRegex = new Regex($"\\S.{{{characters},}}", RegexOptions.Singleline) }) })
            .Last;
        await Assertions.Expect(reply).ToBeVisibleAsync(new() { Timeout = Timeout });
        return (await reply.GetAttributeAsync("data-message-id"))!;
    }

    /// <summary>
    /// Waits until message <paramref name="messageId"/> is completed and shows exactly the stored text
    /// <paramref name="markdown"/> as the page renders it (rendered with the page's own markdown module).
    /// </summary>
    public static async Task ExpectCompletedWithAsync(IPage page, string messageId, string markdown)
    {
        var message = Message(page, messageId);
        await Assertions.Expect(message).ToHaveAttributeAsync("data-status", "completed", new() { Timeout = Timeout });
        var expected = await page.EvaluateAsync<string>("""
            async text => {
              const { renderMarkdown } = await import('/js/markdown.js');
              const element = document.createElement('div');
              renderMarkdown(element, text);
              return element.textContent;
            }
            """, markdown);
        await Assertions.Expect(message.GetByTestId("message-text")).ToHaveTextAsync(expected, new() { Timeout = Timeout });
    }

    /// <summary>A reply's final text from PostgreSQL, once it is no longer queued or streaming; asserts it completed.</summary>
    public static async Task<string> WaitForStoredAsync(StackFixture stack, Guid messageId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(Timeout));
        while (true)
        {
            var stored = await stack.ReadStoredMessageAsync(messageId);
            if (stored.Status is not ("streaming" or "queued"))
            {
                Assert.Equal("completed", stored.Status);
                return stored.Content;
            }
            await Task.Delay(100, timeout.Token);
        }
    }

    [GeneratedRegex("/c/([0-9a-f-]{36})$")]
    private static partial Regex ConversationUrl();
}
