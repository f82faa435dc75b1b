using System.Net;
using System.Text.RegularExpressions;
using AiStreaming.Tests.Aspire;
using AiStreaming.Tests.EndToEnd;
using AiStreaming.Tests.Infrastructure;
using Aspire.Hosting.ApplicationModel;

namespace AiStreaming.Tests.Security;

/// <summary>
/// Web's sessions across its two replicas (one Data Protection key ring in Redis) and after sign-out (revoked in Redis):
/// requests go to each replica directly (<see cref="ReplicaExtensions.ReplicaUri"/>), bypassing Aspire's proxy.
/// </summary>
[Collection(StackCollection.Name)]
public partial class WebSessionTests(StackFixture stack)
{
    [Fact]
    public async Task A_cookie_and_an_antiforgery_token_from_one_web_replica_work_on_the_other()
    {
        using var session = await WebSession.SignInAsync(stack.WebUri, "replicas " + Guid.NewGuid().ToString("N")[..6]);
        var replicas = (await stack.App.ReplicaIdsAsync("web")).Select(stack.App.ReplicaUri).ToList();
        Assert.Equal(2, replicas.Count);
        using var http = Browserless();
        var cookies = CookieHeader(session);

        foreach (var replica in replicas)
        {
            using var conversations = await http.SendAsync(Get(replica, "/api/conversations", cookies));
            Assert.Equal(HttpStatusCode.OK, conversations.StatusCode);
        }
        var (token, antiforgeryCookie) = await SignOutFormAsync(http, replicas[0], cookies);
        using var signOut = await http.SendAsync(SignOutPost(replicas[1], cookies + "; " + antiforgeryCookie, token));

        // The form's token, made on the first replica, is accepted on the second: the sign-out goes on to the authority.
        Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
        Assert.EndsWith("/connect/endsession", signOut.Headers.Location!.GetLeftPart(UriPartial.Path), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cookie_replayed_after_sign_out_answers_401_on_every_web_replica()
    {
        using var session = await WebSession.SignInAsync(stack.WebUri, "replay " + Guid.NewGuid().ToString("N")[..6]);
        using var http = Browserless();
        var cookies = CookieHeader(session);
        using (var before = await http.SendAsync(Get(stack.WebUri, "/api/conversations", cookies)))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }
        var (token, antiforgeryCookie) = await SignOutFormAsync(http, stack.WebUri, cookies);
        using (var signOut = await http.SendAsync(SignOutPost(stack.WebUri, cookies + "; " + antiforgeryCookie, token)))
        {
            Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
        }

        // The captured cookie, replayed as an attacker would, after the browser dropped it.
        foreach (var web in (await stack.App.ReplicaIdsAsync("web")).Select(stack.App.ReplicaUri).Append(stack.WebUri))
        {
            using var api = await http.SendAsync(Get(web, "/api/conversations", cookies));
            Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
            using var page = await http.SendAsync(Get(web, "/", cookies));
            Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
            Assert.Contains("/connect/authorize", page.Headers.Location!.ToString(), StringComparison.Ordinal);
        }
    }

    /// <summary>A client that sends exactly the cookies it is given and follows no redirect.</summary>
    internal static HttpClient Browserless() =>
        new(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>The session's cookies for Web as one <c>Cookie</c> header (cookies ignore ports: any replica takes them).</summary>
    internal static string CookieHeader(WebSession session) => session.Cookies.GetCookieHeader(session.BaseAddress);

    internal static HttpRequestMessage Get(Uri web, string path, string cookies)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(web, path));
        request.Headers.Add("Cookie", cookies);
        return request;
    }

    /// <summary>The chat page's sign-out form on <paramref name="web"/>: its antiforgery token and the antiforgery cookie set with it.</summary>
    internal static async Task<(string Token, string Cookie)> SignOutFormAsync(HttpClient http, Uri web, string cookies)
    {
        using var page = await http.SendAsync(Get(web, "/", cookies));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        var token = AntiforgeryField().Match(html);
        Assert.True(token.Success, "the page's sign-out form has an antiforgery token");
        var cookie = page.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith(".AspNetCore.Antiforgery.", StringComparison.Ordinal));
        return (WebUtility.HtmlDecode(token.Groups[1].Value), cookie[..cookie.IndexOf(';')]);
    }

    internal static HttpRequestMessage SignOutPost(Uri web, string cookies, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(web, "/account/signout"))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token }),
        };
        request.Headers.Add("Cookie", cookies);
        return request;
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}

/// <summary>
/// Web's sessions outlive a restart of every Web replica. A stack of its own: a Redis outage test on the shared stack
/// restarts Redis without its data, and replicas started after that would make a new key ring.
/// </summary>
[Collection(WebRestartCollection.Name)]
public class WebRestartTests(StackFixture stack)
{
    [Fact]
    public async Task A_cookie_and_an_antiforgery_token_outlive_a_restart_of_every_web_replica()
    {
        using var session = await WebSession.SignInAsync(stack.WebUri, "restart");
        using var http = WebSessionTests.Browserless();
        var cookies = WebSessionTests.CookieHeader(session);
        var (token, antiforgeryCookie) = await WebSessionTests.SignOutFormAsync(http, stack.WebUri, cookies);

        foreach (var replica in await stack.App.ReplicaIdsAsync("web"))
        {
            var before = stack.ProcessIdOf(replica);
            await stack.CommandAsync(replica, KnownResourceCommands.RestartCommand);
            await stack.App.WaitForReplicaAsync(replica, s => ReplicaExtensions.IsHealthy(s) && stack.ProcessIdOf(replica) is { } pid && pid != before);
        }

        using (var page = await http.SendAsync(WebSessionTests.Get(stack.WebUri, "/", cookies)))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains("restart", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using (var api = await http.SendAsync(WebSessionTests.Get(stack.WebUri, "/api/conversations", cookies)))
        {
            Assert.Equal(HttpStatusCode.OK, api.StatusCode);
        }
        using var signOut = await http.SendAsync(WebSessionTests.SignOutPost(stack.WebUri, cookies + "; " + antiforgeryCookie, token));
        Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
    }
}

/// <summary>A stack of its own for <see cref="WebRestartTests"/>.</summary>
[CollectionDefinition(Name)]
public sealed class WebRestartCollection : ICollectionFixture<StackFixture>
{
    public const string Name = "web-restart";
}
