using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static AiStreaming.Tests.Browser.ChatPage;

namespace AiStreaming.Tests.Browser;

/// <summary>
/// Aspire's own dashboard in Chromium, against the stack it orchestrates (<see cref="DashboardStackFixture"/>): signed in
/// with its login URL, it lists the resources running, and a reply posted through Web shows in Traces as one trace from
/// Web through an Api replica to the streamer replica that delivered it. The dashboard is a Blazor app that updates
/// itself: assertions are Playwright's auto-waiting ones (telemetry arrives within the services' export interval).
/// </summary>
[Collection(DashboardStackCollection.Name)]
public class DashboardTests(DashboardStackFixture stack, BrowserFixture browser, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    /// <summary>Set to an absolute file path (e.g. the repository's <c>docs/images/dashboard.png</c>) to save the resources page there as a 1280×800 PNG.</summary>
    public const string ScreenshotVariable = "AISTREAMING_DASHBOARD_SCREENSHOT";

    private static readonly LocatorAssertionsToBeVisibleOptions Visible = new() { Timeout = ChatPage.Timeout };

    [Fact]
    public async Task The_dashboard_lists_the_running_resources_and_shows_a_replys_trace_from_web_through_the_api_to_a_streamer()
    {
        await using var dashboard = await browser.Browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 800 } });
        var page = await dashboard.NewPageAsync();
        page.Console += (_, message) => output.WriteLine($"dashboard console {message.Type}: {message.Text}");
        try
        {
            await ShowsTheResourcesAndTheTraceAsync(page);
        }
        catch (PlaywrightException)
        {
            var screenshot = Path.Combine(Path.GetTempPath(), $"dashboard-failure-{Guid.NewGuid():N}.png");
            await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
            output.WriteLine($"The dashboard at {page.Url} (screenshot: {screenshot}) shows:\n{await page.Locator("body").InnerTextAsync()}");
            throw;
        }
    }

    private async Task ShowsTheResourcesAndTheTraceAsync(IPage page)
    {
        await page.GotoAsync(stack.LoginUrl.ToString()); // the token signs the browser in, then the resources page opens
        await Assertions.Expect(page).Not.ToHaveURLAsync(new Regex("/login"), new() { Timeout = ChatPage.Timeout });
        try
        {
            await ExpectRunningAsync(page, ResourceName("Executable", "redis"), 1);
        }
        catch (PlaywrightException)
        {
            // Seen once on a loaded box: the page's first resource watch delivered nothing for a minute ("No resources
            // found"). A user reloads: so does the test, once.
            await page.ReloadAsync();
            await ExpectRunningAsync(page, ResourceName("Executable", "redis"), 1);
        }
        await ExpectRunningAsync(page, ResourceName("Executable", "postgres"), 1);
        await ExpectRunningAsync(page, ResourceName("Project", "api-[a-z0-9]+"), 2);
        await ExpectRunningAsync(page, ResourceName("Project", "streamer-[a-z0-9]+"), 2);
        await ExpectRunningAsync(page, ResourceName("Project", "web-[a-z0-9]+"), 2);
        await ExpectRunningAsync(page, ResourceName("Project", "identity"), 1);

        // One reply, posted and watched in the chat page: the streamer's delivery span exists only for a reply delivered.
        await using var chat = await SignedInContextAsync(browser.Browser, stack.WebUri, "dashboard");
        var chatPage = await chat.NewPageAsync();
        var conversationId = await StartConversationAsync(chatPage, stack.WebUri);
        await SendAsync(chatPage, "Show me a trace");
        var reply = Replies(chatPage).Last;
        await Assertions.Expect(reply).ToHaveAttributeAsync("data-status", "completed", new() { Timeout = ChatPage.Timeout });
        var messageId = Guid.Parse((await reply.GetAttributeAsync("data-message-id"))!);
        var traceId = await stack.TraceIdOfAsync(conversationId, messageId);

        await page.GotoAsync(new Uri(stack.DashboardUrl, "/traces").ToString());
        var trace = page.GetByRole(AriaRole.Row).Filter(new() { Has = page.GetByRole(AriaRole.Gridcell, new() { NameRegex = new Regex($"Trace Id: {traceId}$") }) });
        await Assertions.Expect(trace).ToBeVisibleAsync(Visible);
        foreach (var resource in new[] { "web-", "api-", "streamer-" })
        {
            await Assertions.Expect(trace.Locator($".trace-service-tag[title^='{resource}']").First).ToBeAttachedAsync(new() { Timeout = ChatPage.Timeout });
        }

        await trace.GetByRole(AriaRole.Gridcell, new() { NameRegex = new Regex("^Name: ") }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex($"/traces/detail/{traceId}"), new() { Timeout = ChatPage.Timeout });
        // Slashes escaped: Playwright hands the pattern to the page as a JavaScript regular expression literal.
        await ExpectSpanAsync(page, new Regex(@"^web-[a-z0-9]+: POST \/api\/"));
        await ExpectSpanAsync(page, new Regex(@"^api-[a-z0-9]+: POST \/api\/conversations\/\{id:guid\}\/messages"));
        await ExpectSpanAsync(page, new Regex(@"^api-[a-z0-9]+: generation$"));
        await ExpectSpanAsync(page, new Regex($@"^streamer-[a-z0-9]+: deliver conv:{conversationId:D}$"));

        if (Environment.GetEnvironmentVariable(ScreenshotVariable) is { Length: > 0 } path)
        {
            await page.GotoAsync(stack.DashboardUrl.ToString());
            await ExpectRunningAsync(page, ResourceName("Project", "web-[a-z0-9]+"), 2);
            await page.ScreenshotAsync(new() { Path = path });
        }
    }

    [Fact]
    public async Task Without_the_login_token_the_dashboard_shows_its_login_page_and_no_resource()
    {
        await using var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(stack.DashboardUrl.ToString());
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/login"), new() { Timeout = ChatPage.Timeout });
        await Assertions.Expect(page.GetByRole(AriaRole.Gridcell, new() { NameRegex = ResourceName("Project", "web(-[a-z0-9]+)?") })).ToHaveCountAsync(0);
    }

    // The resources grid names a resource "{type}: {name}" (replicas by their own names, e.g. "Project: api-abcd1234").
    private static Regex ResourceName(string type, string name) => new($"^{type}: {name}$");

    private static async Task ExpectRunningAsync(IPage page, Regex name, int count)
    {
        var rows = page.GetByRole(AriaRole.Row).Filter(new() { Has = page.GetByRole(AriaRole.Gridcell, new() { NameRegex = name }) });
        await Assertions.Expect(rows).ToHaveCountAsync(count, new() { Timeout = ChatPage.Timeout });
        for (var i = 0; i < count; i++)
        {
            await Assertions.Expect(rows.Nth(i).GetByRole(AriaRole.Gridcell, new() { Name = "Running", Exact = true })).ToBeVisibleAsync(Visible);
        }
    }

    // A span of the trace detail grid, named "{resource}: {span name}".
    private static Task ExpectSpanAsync(IPage page, Regex name) =>
        Assertions.Expect(page.GetByRole(AriaRole.Gridcell, new() { NameRegex = name }).First).ToBeVisibleAsync(Visible);
}
