using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace AiStreaming.Tests.EndToEnd;

/// <summary>
/// A browser-like session with Web: signed in through the development sign-in page (antiforgery token and all),
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

    /// <summary>Signs in as <paramref name="name"/>.</summary>
    public static async Task<WebSession> SignInAsync(Uri baseAddress, string name)
    {
        var session = new WebSession(baseAddress, name);
        var form = await session.Http.GetStringAsync("/account/signin");
        var token = AntiforgeryField().Match(form);
        Assert.True(token.Success, "the sign-in form has an antiforgery token");
        using var response = await session.Http.PostAsync("/account/signin", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Name"] = name,
            ["ReturnUrl"] = "/",
            ["__RequestVerificationToken"] = WebUtility.HtmlDecode(token.Groups[1].Value),
        }));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return session;
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
}
