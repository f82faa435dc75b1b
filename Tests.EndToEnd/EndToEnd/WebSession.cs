using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace AiStreaming.Tests.EndToEnd;

/// <summary>
/// A browser-like session with Web: signed in through OpenID Connect at the development provider (Identity/),
/// holding the cookie, and calling <c>/api</c> as the page does (with <c>X-Requested-With</c>).
/// </summary>
public sealed partial class WebSession : IDisposable
{
    private WebSession(Uri baseAddress, string name)
    {
        BaseAddress = baseAddress;
        Name = name;
        Http = new HttpClient(new SocketsHttpHandler { CookieContainer = Cookies, AllowAutoRedirect = false })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
        Http.DefaultRequestHeaders.Add("X-Requested-With", "fetch");
    }

    /// <summary>Web's address.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The display name signed in with.</summary>
    public string Name { get; }

    /// <summary>Cookies of the session (its sign-in).</summary>
    public CookieContainer Cookies { get; } = new();

    /// <summary>HTTP client with the session's cookies.</summary>
    public HttpClient Http { get; }

    /// <summary>
    /// The password every test user has at the development provider: the seeded users' (<c>alice</c>, <c>bob</c>), and
    /// that of every other name, which the login page's "Create account" makes on first use.
    /// </summary>
    public const string Password = "Pass123$";

    /// <summary>
    /// Signs in as <paramref name="name"/> through OpenID Connect, as a browser would: <c>GET /account/signin</c> on
    /// Web, the provider's authorize redirect, its login form (antiforgery token, "Create account" for a new name, or
    /// the name's own password), back to the provider and to Web's <c>/signin-oidc</c>, which sets the cookie.
    /// </summary>
    public static async Task<WebSession> SignInAsync(Uri baseAddress, string name)
    {
        var session = new WebSession(baseAddress, name);
        var url = new Uri(baseAddress, "/account/signin");
        for (var hop = 0; hop < 12; hop++)
        {
            using var response = await session.Http.GetAsync(url);
            if (response.StatusCode == HttpStatusCode.OK && response.RequestMessage!.RequestUri!.AbsolutePath == "/account/login")
            {
                url = await PostLoginFormAsync(session.Http, url, await response.Content.ReadAsStringAsync(), name);
                continue;
            }
            Assert.True(response.StatusCode == HttpStatusCode.Redirect, $"GET {url} answered {(int)response.StatusCode} during sign-in");
            var next = new Uri(url, response.Headers.Location!);
            if (url.AbsolutePath == "/signin-oidc")
            {
                Assert.Contains(session.Cookies.GetCookies(baseAddress).Cast<Cookie>(), c => c.Name.StartsWith(".AiStreaming.Auth", StringComparison.Ordinal));
                return session;
            }
            url = next;
        }
        throw new InvalidOperationException($"Sign-in of {name} did not come back to Web.");
    }

    private static async Task<Uri> PostLoginFormAsync(HttpClient http, Uri login, string form, string name)
    {
        var token = AntiforgeryField().Match(form);
        Assert.True(token.Success, "the login form has an antiforgery token");
        var returnUrl = ReturnUrlField().Match(form);
        using var response = await http.PostAsync(new Uri(login, "/account/login?handler=Register"), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["UserName"] = name,
            ["Password"] = Password,
            ["ReturnUrl"] = WebUtility.HtmlDecode(returnUrl.Groups[1].Value),
            ["__RequestVerificationToken"] = WebUtility.HtmlDecode(token.Groups[1].Value),
        }));
        Assert.True(response.StatusCode == HttpStatusCode.Redirect, $"the login form answered {(int)response.StatusCode} for {name}");
        return new Uri(login, response.Headers.Location!);
    }

    /// <summary>A subscription token for <paramref name="channel"/> (<c>conv:{id}</c>) from the Api, through Web.</summary>
    public async Task<string> GetTokenAsync(string channel, CancellationToken cancellationToken = default)
    {
        var answer = await Http.GetFromJsonAsync<JsonElement>($"/api/conversations/{channel["conv:".Length..]}/token", cancellationToken);
        return answer.GetProperty("token").GetString()!;
    }

    /// <inheritdoc/>
    public void Dispose() => Http.Dispose();

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();

    [GeneratedRegex("type=\"hidden\" name=\"ReturnUrl\" value=\"([^\"]*)\"")]
    private static partial Regex ReturnUrlField();
}
