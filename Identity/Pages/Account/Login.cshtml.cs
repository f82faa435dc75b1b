using AiStreaming.Identity.Authorization;
using AiStreaming.Identity.Users;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;

namespace AiStreaming.Identity.Pages.Account;

/// <summary>
/// The login page (<c>GET/POST /account/login</c>, antiforgery-protected): a user name and password sign in to the
/// provider's own cookie and go back to <see cref="ReturnUrl"/> (the authorization request). With
/// <see cref="DevelopmentUserOptions.AllowRegistration"/>, "Create account" (<c>?handler=Register</c>) also creates a
/// user whose name is free.
/// </summary>
/// <param name="users">The user directory.</param>
/// <param name="options">Whether registration is allowed.</param>
public sealed class LoginModel(UserDirectory users, IOptions<DevelopmentUserOptions> options) : PageModel
{
    /// <summary>The user name typed.</summary>
    [BindProperty]
    public string? UserName { get; set; }

    /// <summary>The password typed (never shown back).</summary>
    [BindProperty]
    public string? Password { get; set; }

    /// <summary>Local URL to go back to: the authorization request.</summary>
    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    /// <summary>Why the last attempt failed.</summary>
    public string? Error { get; private set; }

    /// <summary>Whether the page offers "Create account".</summary>
    public bool AllowRegistration => options.Value.AllowRegistration;

    /// <summary>Signs in an existing user.</summary>
    public Task<IActionResult> OnPostAsync(CancellationToken cancellationToken) =>
        SignInWithAsync((name, password) => users.SignInAsync(name, password, cancellationToken));

    /// <summary>Creates the user if the name is free, or signs in with the name's own password.</summary>
    public Task<IActionResult> OnPostRegisterAsync(CancellationToken cancellationToken) =>
        SignInWithAsync((name, password) => users.RegisterOrSignInAsync(name, password, cancellationToken));

    private async Task<IActionResult> SignInWithAsync(Func<string, string, Task<DevelopmentUser?>> find)
    {
        if (!DevelopmentUser.IsValidUserName(UserName) || string.IsNullOrEmpty(Password))
        {
            Error = "Enter a user name of 1 to 40 letters, digits, spaces, '.', '-' or '_', and a password.";
            return Page();
        }
        if (await find(UserName!.Trim(), Password) is not { } user)
        {
            Error = "Wrong user name or password.";
            return Page();
        }
        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, AuthorizationEndpoints.LoginPrincipal(user));
        return LocalRedirect(Url.IsLocalUrl(ReturnUrl) ? ReturnUrl : "/account/login");
    }
}
