using System.Security.Claims;
using AiStreaming.Channels.Security;
using AiStreaming.Web.Security;

namespace AiStreaming.Tests.Web;

/// <summary>The cookie principal Web builds from an authority's ID token (<see cref="WebAuthExtensions.CookiePrincipal"/>).</summary>
public sealed class CookiePrincipalTests
{
    [Fact]
    public void A_generic_authority_user_is_its_sub_with_its_name_and_a_new_session()
    {
        var first = WebAuthExtensions.CookiePrincipal(External(("sub", "dev:alice"), ("name", "alice")), OidcProvider.Generic)!;
        var second = WebAuthExtensions.CookiePrincipal(External(("sub", "dev:alice"), ("name", "alice")), OidcProvider.Generic)!;

        Assert.Equal("dev:alice", UserTokens.UserId(first));
        Assert.Equal("alice", first.Identity!.Name);
        Assert.NotEqual(first.FindFirst(SessionRevocation.SessionClaim)!.Value, second.FindFirst(SessionRevocation.SessionClaim)!.Value);
    }

    [Fact]
    public void An_entra_id_user_is_its_object_id_not_its_pairwise_sub()
    {
        var principal = WebAuthExtensions.CookiePrincipal(
            External(("sub", "pairwise"), ("oid", "00000000-0000-0000-0000-0000000000a1"), ("preferred_username", "a@example.com")), OidcProvider.EntraId)!;

        Assert.Equal("00000000-0000-0000-0000-0000000000a1", UserTokens.UserId(principal));
        Assert.Equal("a@example.com", principal.Identity!.Name);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void A_token_without_a_subject_names_no_user(string? subject)
    {
        var claims = subject is null ? new[] { ("name", "nobody") } : new[] { ("sub", subject), ("name", "nobody") };

        Assert.Null(WebAuthExtensions.CookiePrincipal(External(claims), OidcProvider.Generic));
    }

    private static ClaimsPrincipal External(params (string Type, string Value)[] claims) =>
        new(new ClaimsIdentity(claims.Select(c => new Claim(c.Type, c.Value)), "oidc"));
}
