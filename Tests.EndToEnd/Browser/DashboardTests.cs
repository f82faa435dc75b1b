using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace AiStreaming.Tests.Browser;

/// <summary>
/// The AppHost dashboard in Chromium after one reply streamed (<see cref="DashboardStackFixture"/>): a trace spanning the Api and a
/// streamer, a point on the time-to-first-token chart, structured logs linked to their trace; and its access rules over HTTP.
/// Assertions are Playwright's auto-waiting ones: telemetry arrives within the services' 1 s export interval.
/// </summary>
[Collection(DashboardStackCollection.Name)]
public partial class DashboardTests(DashboardStackFixture stack, BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private static readonly LocatorAssertionsToBeVisibleOptions Visible = new() { Timeout = 30_000 };

    [Fact]
    public async Task A_reply_shows_as_one_trace_with_spans_from_the_api_and_a_streamer()
    {
        var page = await LoggedInPageAsync("#traces");
        var trace = page.GetByRole(AriaRole.Row).Filter(new() { HasText = "api-0" }).Filter(new() { HasTextRegex = StreamerReplica() }).First;
        await Assertions.Expect(trace).ToBeVisibleAsync(Visible);

        await trace.GetByRole(AriaRole.Link).First.ClickAsync();
        var spans = page.GetByRole(AriaRole.Table, new() { Name = "Spans" });
        await Assertions.Expect(spans.GetByRole(AriaRole.Row).Filter(new() { HasText = "generation" }).First).ToBeVisibleAsync(Visible);
        await Assertions.Expect(spans.GetByRole(AriaRole.Row).Filter(new() { HasText = "deliver conv:" }).Filter(new() { HasTextRegex = StreamerReplica() }).First)
            .ToBeVisibleAsync(Visible);
    }

    [Fact]
    public async Task The_time_to_first_token_chart_has_a_point()
    {
        var page = await LoggedInPageAsync("#metrics");
        var chart = page.GetByRole(AriaRole.Figure, new() { Name = "Time to first token" });
        await Assertions.Expect(chart).ToContainTextAsync(AtLeastOnePoint(), new() { Timeout = 30_000 });
        await Assertions.Expect(chart.Locator("canvas")).ToBeVisibleAsync(Visible);
    }

    [Fact]
    public async Task A_log_line_links_to_its_trace()
    {
        var page = await LoggedInPageAsync("#logs?source=api-0");
        var line = page.GetByRole(AriaRole.Row).Filter(new() { HasText = $"Generation of {stack.MessageId} ended" }).First;
        await Assertions.Expect(line).ToBeVisibleAsync(Visible);

        await line.GetByRole(AriaRole.Link, new() { NameRegex = ViewTrace() }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { NameRegex = TraceHeading() })).ToBeVisibleAsync(Visible);
        await Assertions.Expect(page.GetByRole(AriaRole.Table, new() { Name = "Spans" }).GetByRole(AriaRole.Row).Filter(new() { HasText = "generation" }).First)
            .ToBeVisibleAsync(Visible);
    }

    [Fact]
    public async Task Without_the_login_token_pages_redirect_to_login_and_the_api_answers_401()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = stack.DashboardUrl };
        var page = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.Equal("/login", page.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/resources")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/logs")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/login?t=wrong")).StatusCode);

        var login = await http.GetAsync(stack.LoginUrl.PathAndQuery);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        var cookie = Assert.Single(login.Headers.GetValues("Set-Cookie"));
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_foreign_Host_header_is_refused_against_DNS_rebinding()
    {
        using var http = new HttpClient { BaseAddress = stack.DashboardUrl };
        using var request = new HttpRequestMessage(HttpMethod.Get, stack.LoginUrl.PathAndQuery);
        request.Headers.Host = $"attacker.example:{stack.DashboardUrl.Port}";
        Assert.Equal(HttpStatusCode.BadRequest, (await http.SendAsync(request)).StatusCode);

        using var local = new HttpRequestMessage(HttpMethod.Get, "/login");
        local.Headers.Host = $"localhost:{stack.DashboardUrl.Port}";
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(local)).StatusCode);
    }

    [Fact]
    public async Task Otlp_export_without_the_api_key_is_rejected()
    {
        using var http = new HttpClient { BaseAddress = stack.DashboardUrl };
        using var content = new ByteArrayContent([]);
        content.Headers.ContentType = new("application/x-protobuf");
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsync("/v1/traces", content)).StatusCode);
    }

    [Fact]
    public async Task No_page_shows_a_secret()
    {
        var page = await LoggedInPageAsync("#console/api/0");
        await Assertions.Expect(page.GetByLabel("Console output")).Not.ToBeEmptyAsync(new() { Timeout = 30_000 });
        var connectionString = await stack.App.GetConnectionStringAsync("messages");
        var password = Regex.Match(connectionString!, "Password=([^;]+)", RegexOptions.IgnoreCase).Groups[1].Value;
        foreach (var view in new[] { "#console/api/0", "#logs", "#resources" })
        {
            await page.GotoAsync(new Uri(stack.DashboardUrl, "/" + view).ToString());
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            var text = await page.Locator("main").InnerTextAsync();
            Assert.DoesNotContain(password, text, StringComparison.Ordinal);
        }
    }

    private async Task<IPage> LoggedInPageAsync(string view)
    {
        var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(stack.LoginUrl.ToString());
        await page.GotoAsync(new Uri(stack.DashboardUrl, "/" + view).ToString());
        return page;
    }

    [GeneratedRegex(@"streamer-\d")]
    private static partial Regex StreamerReplica();

    [GeneratedRegex(@"· [1-9]\d* points?")]
    private static partial Regex AtLeastOnePoint();

    [GeneratedRegex("^View trace")]
    private static partial Regex ViewTrace();

    [GeneratedRegex("^Trace [0-9a-f]{32}$")]
    private static partial Regex TraceHeading();
}
