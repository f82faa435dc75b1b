using System.Security.Claims;
using AiStreaming.Channels.Security;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Transforms;

namespace AiStreaming.Web.Security;

/// <summary>
/// Sign-in for the browser and identity for the services behind the proxy.
/// <list type="bullet">
/// <item>The browser holds an authentication cookie (<see cref="CookieName"/>: HttpOnly, SameSite=Lax, Secure over
/// https). The template signs users in with a development page (<c>/account/signin</c>, pick a display name).</item>
/// <item>Every request Web proxies to the Api or the streamer carries a short-lived user token
/// (<see cref="UserTokens"/>, <c>Authorization: Bearer</c>) minted here from the cookie; any <c>Authorization</c>
/// header the client sent is removed, so the services never trust client-supplied identity.</item>
/// </list>
/// To use OpenID Connect / Entra ID instead of the development sign-in, add the scheme after the cookie in
/// <see cref="AddWebAuth"/> (docs/security.md):
/// <code>
/// .AddOpenIdConnect(OpenIdConnectDefaults.AuthenticationScheme, o => { o.Authority = "https://login.microsoftonline.com/{tenant}/v2.0"; o.ClientId = …; o.ResponseType = "code"; o.MapInboundClaims = false; })
/// // or builder.Services.AddAuthentication(...).AddMicrosoftIdentityWebApp(builder.Configuration.GetSection("AzureAd"))
/// </code>
/// set <c>DefaultChallengeScheme</c> to it, and map its <c>sub</c>/<c>oid</c> and <c>name</c> claims to the cookie
/// principal (<see cref="UserTokens.SubjectClaim"/>, <see cref="UserTokens.NameClaim"/>).
/// </summary>
public static class WebAuthExtensions
{
    /// <summary>Name of the authentication cookie.</summary>
    public const string CookieName = ".AiStreaming.Auth";

    /// <summary>Adds the shared <see cref="AuthOptions"/> (validated on start), <see cref="UserTokens"/>, cookie authentication and authorization.</summary>
    public static IHostApplicationBuilder AddWebAuth(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new UserTokens(sp.GetRequiredService<IOptions<AuthOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(cookie =>
            {
                cookie.Cookie.Name = CookieName;
                cookie.Cookie.HttpOnly = true;
                cookie.Cookie.SameSite = SameSiteMode.Lax;
                cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                cookie.LoginPath = "/account/signin";
                cookie.LogoutPath = "/account/signout";
                cookie.ExpireTimeSpan = TimeSpan.FromHours(8);
                cookie.SlidingExpiration = true;
            });
        builder.Services.AddAuthorization();
        return builder;
    }

    /// <summary>
    /// Proxy transform: removes the client's <c>Authorization</c> header and, for a signed-in user, adds a fresh user
    /// token for the Api and the streamer.
    /// </summary>
    public static IReverseProxyBuilder AddUserTokenTransform(this IReverseProxyBuilder proxy) =>
        proxy.AddTransforms(context => context.AddRequestTransform(transform =>
        {
            var request = transform.ProxyRequest;
            request.Headers.Authorization = null;
            var user = transform.HttpContext.User;
            if (UserTokens.UserId(user) is { } userId)
            {
                var tokens = transform.HttpContext.RequestServices.GetRequiredService<UserTokens>();
                request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
                    "Bearer", tokens.Issue(userId, UserTokens.DisplayName(user)));
            }
            return ValueTask.CompletedTask;
        }));

    /// <summary>The principal of a development sign-in: <c>sub</c> = <c>dev:{name}</c> (case-insensitive), <c>name</c>.</summary>
    /// <param name="displayName">The chosen display name (validated).</param>
    public static ClaimsPrincipal DevelopmentPrincipal(string displayName) => new(new ClaimsIdentity(
        [
            new Claim(UserTokens.SubjectClaim, "dev:" + displayName.ToLowerInvariant()),
            new Claim(UserTokens.NameClaim, displayName),
        ],
        CookieAuthenticationDefaults.AuthenticationScheme, UserTokens.NameClaim, "role"));
}
