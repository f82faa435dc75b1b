using System.Collections.Concurrent;
using System.Security.Cryptography;
using AiStreaming.Channels;
using AiStreaming.Channels.Security;

namespace AiStreaming.Bench.Clients;

/// <summary>
/// The bench's identity: it starts the stack with a signing key of its own (the AppHost's <c>auth-signing-key</c> parameter, <c>--Parameters:auth-signing-key</c>) and
/// mints what Web and the Api would hand a signed-in user: a user token (the bearer Web adds to proxied requests) and
/// subscription tokens, both valid for an hour so no run outlives them. One user, <c>bench</c>; the stack's per-user
/// limits are raised for the run (<see cref="LimitsEnvironment"/>), since all load comes from that one user.
/// </summary>
internal static class BenchAuth
{
    private static readonly ConcurrentDictionary<string, string> Subscriptions = new();
    private static AuthOptions _options = new();
    private static string _userToken = "";

    /// <summary>The user id the bench acts as.</summary>
    public const string UserId = "dev:bench";

    /// <summary>Service settings that lift the per-user limits for a load run (one user drives it all).</summary>
    public static IReadOnlyDictionary<string, string> LimitsEnvironment { get; } = new Dictionary<string, string>
    {
        ["Limits__PostsPerMinute"] = "100000",
        ["Limits__MaxConcurrentGenerations"] = "10000",
        ["StreamerSecurity__MaxConnectionsPerUser"] = "100000",
        ["StreamerSecurity__MaxSubscriptionsPerUser"] = "100000",
        // Admission control off: a load run measures delivery, not the queue in front of the model.
        ["Generation__MaxConcurrentPerModel"] = "0",
    };

    /// <summary>A new random signing key (base64, 32 bytes), installed for minting; pass it to the AppHost.</summary>
    public static string NewKey()
    {
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(AuthOptions.MinKeyBytes));
        _options = new AuthOptions { SigningKey = key, UserTokenLifetime = TimeSpan.FromHours(1), SubscriptionTokenLifetime = TimeSpan.FromHours(1) };
        _userToken = new UserTokens(_options, TimeProvider.System).Issue(UserId, "bench");
        Subscriptions.Clear();
        WebCookies = null;
        return key;
    }

    /// <summary>Web's sign-in cookie of the bench user, once <see cref="SignInToWebAsync"/> ran (<c>--through-web</c>).</summary>
    public static System.Net.CookieContainer? WebCookies { get; private set; }

    /// <summary>
    /// Signs in to Web as <c>bench</c> (user id <see cref="UserId"/>) through OpenID Connect at the AppHost's development
    /// provider: follows Web's <c>/account/signin</c> redirects to the provider's login form, posts it ("Create account",
    /// which signs in an existing name with its password), and follows the redirects back to Web, keeping the cookie.
    /// </summary>
    /// <exception cref="InvalidOperationException">A step answered unexpectedly.</exception>
    public static async Task SignInToWebAsync(Uri web, CancellationToken cancellationToken)
    {
        var cookies = new System.Net.CookieContainer();
        using var http = new HttpClient(new SocketsHttpHandler { CookieContainer = cookies, AllowAutoRedirect = false });
        // Through "localhost", the host of the redirect URI the AppHost registers at the provider.
        var url = new UriBuilder(web) { Host = "localhost", Path = "/account/signin" }.Uri;
        for (var hop = 0; hop < 12; hop++)
        {
            using var response = await http.GetAsync(url, cancellationToken);
            if (response.StatusCode == System.Net.HttpStatusCode.OK && url.AbsolutePath == "/account/login")
            {
                var form = await response.Content.ReadAsStringAsync(cancellationToken);
                string Field(string pattern) => System.Net.WebUtility.HtmlDecode(System.Text.RegularExpressions.Regex.Match(form, pattern).Groups[1].Value);
                using var posted = await http.PostAsync(new Uri(url, "/account/login?handler=Register"), new FormUrlEncodedContent(new Dictionary<string, string>
                {
                    ["UserName"] = "bench",
                    ["Password"] = "bench-Pass123$",
                    ["ReturnUrl"] = Field("type=\"hidden\" name=\"ReturnUrl\" value=\"([^\"]*)\""),
                    ["__RequestVerificationToken"] = Field("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\""),
                }), cancellationToken);
                url = posted.StatusCode == System.Net.HttpStatusCode.Redirect
                    ? new Uri(url, posted.Headers.Location!)
                    : throw new InvalidOperationException($"The provider's login form answered {(int)posted.StatusCode}.");
                continue;
            }
            if (response.StatusCode != System.Net.HttpStatusCode.Redirect)
            {
                throw new InvalidOperationException($"GET {url.AbsolutePath} answered {(int)response.StatusCode} during sign-in.");
            }
            if (url.AbsolutePath == "/signin-oidc")
            {
                // The bench's clients call Web at 127.0.0.1: give them the cookies that came for "localhost".
                foreach (System.Net.Cookie cookie in cookies.GetCookies(url))
                {
                    cookies.Add(new System.Net.Cookie(cookie.Name, cookie.Value, "/", web.Host));
                }
                WebCookies = cookies;
                return;
            }
            url = new Uri(url, response.Headers.Location!);
        }
        throw new InvalidOperationException("Sign-in did not come back to Web.");
    }

    /// <summary>The bearer token for the Api and the hub.</summary>
    public static string UserToken => _userToken;

    /// <summary>A subscription token for <paramref name="channel"/> (cached per channel).</summary>
    public static string SubscriptionToken(string channel) =>
        Subscriptions.GetOrAdd(channel, static c =>
            new SubscriptionTokens(_options, TimeProvider.System).Issue(UserId, "bench", ChannelName.Parse(c), DateTimeOffset.UtcNow, TimeSpan.FromHours(1)).Token);
}
