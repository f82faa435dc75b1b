using System.Text.RegularExpressions;
using AiStreaming.Web.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace AiStreaming.Web.Pages.Account;

/// <summary>
/// Development sign-in (<c>GET/POST /account/signin</c>): the user picks a display name (1–40 letters, digits, spaces,
/// <c>.-_</c>) and gets the cookie of user <c>dev:{name}</c>. The form is protected by Razor Pages' antiforgery
/// token. Replace with OpenID Connect in production (<see cref="WebAuthExtensions"/>).
/// </summary>
public sealed partial class SignInModel : PageModel
{
    /// <summary>Longest display name, in characters.</summary>
    public const int MaxNameLength = 40;

    /// <summary>Chosen display name.</summary>
    [BindProperty]
    public string? Name { get; set; }

    /// <summary>Local URL to go back to after signing in.</summary>
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    /// <summary>Why the last attempt failed.</summary>
    public string? Error { get; private set; }

    /// <summary>Signs in and redirects to <see cref="ReturnUrl"/> when local, else <c>/</c>; 400-style page for a bad name.</summary>
    public async Task<IActionResult> OnPostAsync()
    {
        var name = Name?.Trim() ?? "";
        if (!NamePattern().IsMatch(name))
        {
            Error = $"Choose a name of 1 to {MaxNameLength} letters, digits, spaces, '.', '-' or '_'.";
            return Page();
        }
        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, WebAuthExtensions.DevelopmentPrincipal(name));
        return LocalRedirect(Url.IsLocalUrl(ReturnUrl) ? ReturnUrl : "/");
    }

    [GeneratedRegex(@"^[\p{L}\p{N} ._-]{1,40}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
