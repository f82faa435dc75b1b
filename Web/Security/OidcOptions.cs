using System.ComponentModel.DataAnnotations;

namespace AiStreaming.Web.Security;

/// <summary>Which kind of OpenID Connect authority Web signs in against.</summary>
public enum OidcProvider
{
    /// <summary>Any OpenID Connect authority (the local Identity project, Keycloak, Auth0, …): ASP.NET Core's OpenIdConnect handler.</summary>
    Generic,

    /// <summary>Microsoft Entra ID through Microsoft.Identity.Web (<see cref="OidcOptions.Authority"/> = <c>https://login.microsoftonline.com/{tenant}/v2.0</c>).</summary>
    EntraId,
}

/// <summary>
/// Web's sign-in, bound from the <c>Oidc</c> configuration section and validated on start: Web does not start without
/// an authority and a client id, in any environment (there is no other way to sign in).
/// </summary>
public sealed class OidcOptions : IValidatableObject
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Oidc";

    /// <summary>The kind of authority. Default <see cref="OidcProvider.Generic"/>.</summary>
    public OidcProvider Provider { get; set; } = OidcProvider.Generic;

    /// <summary>
    /// The issuer's absolute URL (<c>{Authority}/.well-known/openid-configuration</c> is its discovery document). https,
    /// except in Development, where the AppHost's Identity project answers on http://localhost.
    /// </summary>
    [Required(ErrorMessage = "Oidc:Authority is required: the URL of the OpenID Connect authority Web signs in against (docs/security.md).")]
    public string? Authority { get; set; }

    /// <summary>Web's client id at the authority.</summary>
    [Required(ErrorMessage = "Oidc:ClientId is required: Web's client id at the OpenID Connect authority.")]
    public string? ClientId { get; set; }

    /// <summary>Web's client secret at the authority (a confidential client: the code is redeemed with it and PKCE). A secret: never logged.</summary>
    [Required(ErrorMessage = "Oidc:ClientSecret is required: Web's client secret at the OpenID Connect authority.")]
    public string? ClientSecret { get; set; }

    /// <summary>Whether an http authority is allowed (set by <see cref="WebAuthExtensions.AddWebAuth"/> in Development only).</summary>
    internal bool AllowHttpAuthority { get; set; }

    /// <inheritdoc />
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Authority is null)
        {
            yield break;
        }
        if (!Uri.TryCreate(Authority, UriKind.Absolute, out var uri) || !(uri.Scheme == Uri.UriSchemeHttps || (AllowHttpAuthority && uri.Scheme == Uri.UriSchemeHttp)))
        {
            yield return new ValidationResult(
                $"Oidc:Authority must be an absolute https URL{(AllowHttpAuthority ? " (or http in Development)" : "")}.", [nameof(Authority)]);
        }
    }
}
