using System.Text.RegularExpressions;
using AiStreaming.Tests.EndToEnd;
using Microsoft.Playwright;

namespace AiStreaming.Tests.Browser;

/// <summary>Signing in and out in Chromium through the development provider's login page (OpenID Connect).</summary>
[Collection(StackCollection.Name)]
public class SignInPageTests(StackFixture stack, BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private const float Timeout = ChatPage.Timeout;

    [Fact]
    public async Task A_seeded_user_signs_in_on_the_providers_login_page_and_signing_out_returns_to_it()
    {
        await using var context = await browser.Browser.NewContextAsync();
        var page = await context.NewPageAsync();
        await page.GotoAsync(stack.WebUri.ToString());

        // Web sent the browser to the provider, on its own origin.
        await Assertions.Expect(page.GetByTestId("login-username")).ToBeVisibleAsync(new() { Timeout = Timeout });
        Assert.NotEqual(stack.WebUri.Port, new Uri(page.Url).Port);
        await page.GetByTestId("login-username").FillAsync("alice");
        await page.GetByTestId("login-password").FillAsync("wrong password");
        await page.GetByTestId("login-submit").ClickAsync();
        await Assertions.Expect(page.GetByTestId("login-error")).ToHaveTextAsync("Wrong user name or password.", new() { Timeout = Timeout });

        await page.GetByTestId("login-password").FillAsync("Pass123$");
        await page.GetByTestId("login-submit").ClickAsync();
        await Assertions.Expect(page.GetByTestId("user-name")).ToHaveTextAsync("alice", new() { Timeout = Timeout });
        Assert.Equal(stack.WebUri.Port, new Uri(page.Url).Port);

        await page.GetByTestId("signout").ClickAsync();
        await Assertions.Expect(page.GetByTestId("login-username")).ToBeVisibleAsync(new() { Timeout = Timeout });
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/account/login"), new() { Timeout = Timeout });
    }
}
