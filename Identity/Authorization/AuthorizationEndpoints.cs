using System.Security.Claims;
using AiStreaming.Identity.Users;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Http.HttpResults;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AiStreaming.Identity.Authorization;

/// <summary>
/// The passthrough endpoints OpenIddict hands to the app, after it has validated the request (client, redirect URI,
/// PKCE): <c>/connect/authorize</c> and <c>/connect/endsession</c>. The token endpoint is OpenIddict's own.
/// </summary>
public static class AuthorizationEndpoints
{
    /// <summary>Maps <c>GET|POST /connect/authorize</c> and <c>GET|POST /connect/endsession</c>.</summary>
    public static IEndpointRouteBuilder MapAuthorizationEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods("/connect/authorize", [HttpMethods.Get, HttpMethods.Post], (Delegate)AuthorizeAsync);
        endpoints.MapMethods("/connect/endsession", [HttpMethods.Get, HttpMethods.Post], (Delegate)EndSessionAsync);
        return endpoints;
    }

    /// <summary>
    /// A user signed in here (the login cookie) gets an authorization code for <c>sub</c> and <c>name</c>; anyone
    /// else is sent to the login page, which comes back here.
    /// </summary>
    public static async Task<Results<SignInHttpResult, ChallengeHttpResult>> AuthorizeAsync(HttpContext context)
    {
        var request = context.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenID Connect request.");
        var login = await context.AuthenticateAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        if (!login.Succeeded || request.HasPromptValue(PromptValues.Login))
        {
            var parameters = context.Request.HasFormContentType
                ? context.Request.Form.Where(p => p.Key != Parameters.Prompt).ToList()
                : context.Request.Query.Where(p => p.Key != Parameters.Prompt).ToList();
            var returnUrl = context.Request.PathBase + context.Request.Path + QueryString.Create(parameters);
            return TypedResults.Challenge(new AuthenticationProperties { RedirectUri = returnUrl }, [CookieAuthenticationDefaults.AuthenticationScheme]);
        }

        var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, Claims.Role);
        identity.SetClaim(Claims.Subject, login.Principal.FindFirstValue(Claims.Subject))
            .SetClaim(Claims.Name, login.Principal.FindFirstValue(Claims.Name));
        identity.SetScopes(request.GetScopes());
        identity.SetDestinations(_ => [Destinations.AccessToken, Destinations.IdentityToken]);
        return TypedResults.SignIn(new ClaimsPrincipal(identity), authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    /// <summary>Ends the login session and returns to the client's registered post-logout URI (else <c>/account/login</c>).</summary>
    public static async Task<SignOutHttpResult> EndSessionAsync(HttpContext context)
    {
        await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return TypedResults.SignOut(new AuthenticationProperties { RedirectUri = "/account/login" }, [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
    }

    /// <summary>The login cookie's principal of <paramref name="user"/>: <c>sub</c> and <c>name</c>.</summary>
    public static ClaimsPrincipal LoginPrincipal(DevelopmentUser user) => new(new ClaimsIdentity(
        [new Claim(Claims.Subject, user.Id), new Claim(Claims.Name, user.UserName)],
        CookieAuthenticationDefaults.AuthenticationScheme, Claims.Name, Claims.Role));
}
