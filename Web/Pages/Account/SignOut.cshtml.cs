using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace AiStreaming.Web.Pages.Account;

/// <summary><c>POST /account/signout</c> (antiforgery-protected form): removes the cookie and goes to the sign-in page.</summary>
public sealed class SignOutModel : PageModel
{
    /// <summary>Signs out.</summary>
    public async Task<IActionResult> OnPostAsync()
    {
        await HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return LocalRedirect("/account/signin");
    }

    /// <summary>A GET only shows where to go: signing out takes a POST (no cross-site sign-out by link).</summary>
    public IActionResult OnGet() => LocalRedirect("/");
}
