using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace AiStreaming.Web.Pages.Account;

/// <summary>
/// <c>POST /account/signout</c> (antiforgery-protected form): revokes the session on every replica
/// (<see cref="Security.SessionRevocation"/>), removes the cookie, and ends the session at the authority, which comes
/// back to <c>/</c> (and so to its sign-in page).
/// </summary>
public sealed class SignOutModel : PageModel
{
    /// <summary>Signs out of Web and of the authority.</summary>
    public IActionResult OnPost() => SignOut(
        new AuthenticationProperties { RedirectUri = "/" },
        CookieAuthenticationDefaults.AuthenticationScheme, OpenIdConnectDefaults.AuthenticationScheme);

    /// <summary>A GET only shows where to go: signing out takes a POST (no cross-site sign-out by link).</summary>
    public IActionResult OnGet() => LocalRedirect("/");
}
