using System.Security.Claims;
using AiStreaming.Channels.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Options;
using Microsoft.Identity.Web;
using StackExchange.Redis;
using Yarp.ReverseProxy.Transforms;

namespace AiStreaming.Web.Security;

/// <summary>
/// Sign-in for the browser and identity for the services behind the proxy.
/// <list type="bullet">
/// <item>Users sign in with OpenID Connect (authorization code + PKCE) against <see cref="OidcOptions.Authority"/>:
/// locally the AppHost's Identity project, in Azure Microsoft Entra ID or any OIDC authority (docs/security.md).</item>
/// <item>The browser then holds an authentication cookie (<see cref="CookieName"/>: HttpOnly, SameSite=Lax, Secure over
/// https, 8 h sliding) with the user's id and name and a session id; signing out revokes the session in Redis
/// (<see cref="SessionRevocation"/>).</item>
/// <item>Every Web replica shares one Data Protection key ring in Redis (<see cref="KeyRingKey"/>), so a cookie or an
/// antiforgery token from one replica is valid on the others and after a restart.</item>
/// <item>Every request Web proxies to the Api or the streamer carries a short-lived user token
/// (<see cref="UserTokens"/>, <c>Authorization: Bearer</c>) minted here from the cookie; any <c>Authorization</c>
/// header the client sent is removed, so the services never trust client-supplied identity.</item>
/// </list>
/// </summary>
public static partial class WebAuthExtensions
{
    /// <summary>Name of the authentication cookie.</summary>
    public const string CookieName = ".AiStreaming.Auth";

    /// <summary>Redis key (a list) of the shared Data Protection key ring.</summary>
    public const string KeyRingKey = "web:data-protection-keys";

    /// <summary>Aspire connection name of Web's Redis (<c>ConnectionStrings:redis</c>).</summary>
    public const string RedisConnectionName = "redis";

    /// <summary>How long a cookie lives without use (sliding).</summary>
    public static readonly TimeSpan CookieLifetime = TimeSpan.FromHours(8);

    /// <summary>
    /// Adds the shared <see cref="AuthOptions"/> and <see cref="OidcOptions"/> (both validated on start), Redis, the
    /// shared key ring, <see cref="UserTokens"/>, cookie + OpenID Connect authentication and authorization.
    /// </summary>
    public static IHostApplicationBuilder AddWebAuth(this IHostApplicationBuilder builder)
    {
        var development = builder.Environment.IsDevelopment();
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<OidcOptions>().BindConfiguration(OidcOptions.SectionName)
            .Configure(o => o.AllowHttpAuthority = development)
            .ValidateDataAnnotations().ValidateOnStart();
        // Signing out posts a form whose answer redirects to the authority's end-session endpoint: browsers hold form
        // redirects to the CSP's form-action too, so the authority's origin joins 'self' there.
        builder.Services.AddOptions<WebSecurityOptions>().PostConfigure<IOptions<OidcOptions>>((security, oidc) =>
        {
            if (Uri.TryCreate(oidc.Value.Authority, UriKind.Absolute, out var authority))
            {
                security.ContentSecurityPolicy = security.ContentSecurityPolicy.Replace(
                    "form-action 'self'", $"form-action 'self' {authority.GetLeftPart(UriPartial.Authority)}", StringComparison.Ordinal);
            }
        });
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new UserTokens(sp.GetRequiredService<IOptions<AuthOptions>>().Value, sp.GetRequiredService<TimeProvider>()));

        builder.AddRedisClient(RedisConnectionName, RedisMultiplexerDefaults.ConfigureSettings, RedisMultiplexerDefaults.Apply);
        builder.Services.AddDataProtection().SetApplicationName("AiStreaming.Web");
        builder.Services.AddOptions<KeyManagementOptions>().Configure<IConnectionMultiplexer>((options, redis) =>
            options.XmlRepository = new SharedKeyRing(() => redis.GetDatabase()));
        builder.Services.AddSingleton<SessionRevocation>();

        var oidc = builder.Configuration.GetSection(OidcOptions.SectionName).Get<OidcOptions>() ?? new OidcOptions();
        var authentication = builder.Services.AddAuthentication(options =>
        {
            options.DefaultScheme = CookieAuthenticationDefaults.AuthenticationScheme;
            options.DefaultChallengeScheme = OpenIdConnectDefaults.AuthenticationScheme;
        });
        if (oidc.Provider == OidcProvider.EntraId)
        {
            authentication.AddMicrosoftIdentityWebApp(
                identity => ConfigureEntraId(identity, builder.Configuration),
                ConfigureCookie,
                OpenIdConnectDefaults.AuthenticationScheme,
                CookieAuthenticationDefaults.AuthenticationScheme);
        }
        else
        {
            authentication.AddCookie(ConfigureCookie).AddOpenIdConnect(options => ConfigureGeneric(options, builder.Configuration, development));
        }
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

    /// <summary>
    /// Maps <c>GET /account/signin?returnUrl=/local/path</c>: starts the OpenID Connect sign-in and comes back to the
    /// local URL (else <c>/</c>). There is no other way in: no form, no POST.
    /// </summary>
    public static IEndpointRouteBuilder MapSignIn(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/account/signin", (string? returnUrl) => TypedResults.Challenge(
            new AuthenticationProperties { RedirectUri = IsLocal(returnUrl) ? returnUrl : "/" },
            [OpenIdConnectDefaults.AuthenticationScheme]));
        return endpoints;
    }

    /// <summary>
    /// The cookie's principal, built from the authority's ID token: <see cref="UserTokens.SubjectClaim"/> = the user's id
    /// (Entra ID's <c>oid</c>, else <c>sub</c>), <see cref="UserTokens.NameClaim"/> = <c>name</c> (else
    /// <c>preferred_username</c>, else the id) and a new <see cref="SessionRevocation.SessionClaim"/>.
    /// </summary>
    /// <param name="external">The validated ID token's principal.</param>
    /// <param name="provider">The kind of authority.</param>
    /// <returns>The principal, or null when the token names no user (empty or missing id).</returns>
    public static ClaimsPrincipal? CookiePrincipal(ClaimsPrincipal external, OidcProvider provider)
    {
        var userId = provider == OidcProvider.EntraId
            ? (external.FindFirst("oid") ?? external.FindFirst(ClaimConstants.ObjectId))?.Value
            : external.FindFirst("sub")?.Value;
        if (string.IsNullOrWhiteSpace(userId))
        {
            return null;
        }
        var name = external.FindFirst("name")?.Value ?? external.FindFirst(ClaimTypes.Name)?.Value
            ?? external.FindFirst("preferred_username")?.Value ?? userId;
        return new ClaimsPrincipal(new ClaimsIdentity(
            [
                new Claim(UserTokens.SubjectClaim, userId),
                new Claim(UserTokens.NameClaim, name),
                new Claim(SessionRevocation.SessionClaim, Guid.NewGuid().ToString("N")),
            ],
            OpenIdConnectDefaults.AuthenticationScheme, UserTokens.NameClaim, "role"));
    }

    private static void ConfigureCookie(CookieAuthenticationOptions cookie)
    {
        cookie.Cookie.Name = CookieName;
        cookie.Cookie.HttpOnly = true;
        cookie.Cookie.SameSite = SameSiteMode.Lax;
        cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        cookie.LoginPath = "/account/signin";
        cookie.ExpireTimeSpan = CookieLifetime;
        cookie.SlidingExpiration = true;
        cookie.Events.OnValidatePrincipal = context => context.HttpContext.RequestServices.GetRequiredService<SessionRevocation>().ValidateAsync(context);
        cookie.Events.OnSigningOut = context => context.HttpContext.RequestServices.GetRequiredService<SessionRevocation>().RevokeAsync(context.HttpContext.User, CookieLifetime);
    }

    private static void ConfigureGeneric(OpenIdConnectOptions options, IConfiguration configuration, bool development)
    {
        var oidc = configuration.GetSection(OidcOptions.SectionName).Get<OidcOptions>() ?? new OidcOptions();
        options.Authority = oidc.Authority;
        options.ClientId = oidc.ClientId;
        options.ClientSecret = oidc.ClientSecret;
        options.RequireHttpsMetadata = !development;
        options.ResponseType = "code";
        options.UsePkce = true;
        // The code comes back on a top-level GET, so the correlation and nonce cookies can be SameSite=Lax (a form_post
        // from another site would need SameSite=None, which browsers accept only with Secure, i.e. https).
        options.ResponseMode = "query";
        options.CorrelationCookie.SameSite = SameSiteMode.Lax;
        options.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        options.NonceCookie.SameSite = SameSiteMode.Lax;
        options.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        options.Scope.Clear();
        options.Scope.Add("openid");
        options.Scope.Add("profile");
        options.MapInboundClaims = false;
        options.GetClaimsFromUserInfoEndpoint = false;
        // The ID token is kept (in the encrypted cookie) for the end-session request's id_token_hint.
        options.SaveTokens = true;
        options.TokenValidationParameters.NameClaimType = "name";
        options.Events.OnTokenValidated = context => ToCookiePrincipal(context, OidcProvider.Generic);
    }

    private static void ConfigureEntraId(MicrosoftIdentityOptions identity, IConfiguration configuration)
    {
        var oidc = configuration.GetSection(OidcOptions.SectionName).Get<OidcOptions>() ?? new OidcOptions();
        // https://login.microsoftonline.com/{tenant}/v2.0 → instance and tenant, as Microsoft.Identity.Web wants them.
        if (Uri.TryCreate(oidc.Authority, UriKind.Absolute, out var authority))
        {
            identity.Instance = authority.GetLeftPart(UriPartial.Authority) + "/";
            identity.TenantId = authority.Segments.Length > 1 ? authority.Segments[1].TrimEnd('/') : null;
        }
        identity.ClientId = oidc.ClientId;
        identity.ClientSecret = oidc.ClientSecret;
        identity.ResponseType = "code";
        identity.UsePkce = true;
        identity.SaveTokens = true;
        identity.Events ??= new OpenIdConnectEvents();
        identity.Events.OnTokenValidated = context => ToCookiePrincipal(context, OidcProvider.EntraId);
    }

    private static Task ToCookiePrincipal(TokenValidatedContext context, OidcProvider provider)
    {
        if (context.Principal is not null && CookiePrincipal(context.Principal, provider) is { } principal)
        {
            context.Principal = principal;
            LogSignedIn(context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(WebAuthExtensions)),
                UserTokens.UserId(principal) ?? "", principal.FindFirst(SessionRevocation.SessionClaim)!.Value);
        }
        else
        {
            context.Fail("The ID token names no user (its subject is empty or missing).");
        }
        return Task.CompletedTask;
    }

    private static bool IsLocal(string? url) =>
        !string.IsNullOrEmpty(url) && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\'));

    [LoggerMessage(LogLevel.Information, "Signed in user {UserId} (session {Session})")]
    private static partial void LogSignedIn(ILogger logger, string userId, string session);
}
