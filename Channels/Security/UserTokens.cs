using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AiStreaming.Channels.Security;

/// <summary>
/// Short-lived user tokens (JWT, HS256, <c>aud</c> = <see cref="AuthOptions.UserAudience"/>, claims <c>sub</c> and
/// <c>name</c>) that Web attaches as <c>Authorization: Bearer</c> to every request it proxies for a signed-in user.
/// The Api and the streamer validate them with JwtBearer and <see cref="ValidationParameters"/>; they never trust
/// an identity header a client could set.
/// </summary>
/// <param name="options">Key and lifetime.</param>
/// <param name="time">Clock.</param>
public sealed class UserTokens(AuthOptions options, TimeProvider time)
{
    /// <summary>Claim holding the user's display name.</summary>
    public const string NameClaim = "name";

    /// <summary>Claim holding the user's id.</summary>
    public const string SubjectClaim = "sub";

    private static readonly JsonWebTokenHandler Handler = new();
    private readonly SigningCredentials _credentials = new(options.CreateKey(), SecurityAlgorithms.HmacSha256);

    /// <summary>Issues a token for <paramref name="userId"/> valid for <see cref="AuthOptions.UserTokenLifetime"/>.</summary>
    /// <param name="userId">Stable user id (<c>sub</c>).</param>
    /// <param name="displayName">Display name (<c>name</c>).</param>
    /// <returns>The compact JWT.</returns>
    public string Issue(string userId, string displayName)
    {
        var now = time.GetUtcNow().UtcDateTime;
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = AuthOptions.Issuer,
            Audience = AuthOptions.UserAudience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + options.UserTokenLifetime,
            Claims = new Dictionary<string, object> { [SubjectClaim] = userId, [NameClaim] = displayName },
            SigningCredentials = _credentials,
        });
    }

    /// <summary>
    /// What JwtBearer checks on the Api and the streamer: issuer, audience, lifetime (skew
    /// <see cref="AuthOptions.ClockSkew"/>), an HS256 signature by the shared key and nothing else (<c>alg: none</c>
    /// and other algorithms are refused).
    /// </summary>
    /// <param name="options">The shared key.</param>
    public static TokenValidationParameters ValidationParameters(AuthOptions options) => new()
    {
        ValidIssuer = AuthOptions.Issuer,
        ValidAudience = AuthOptions.UserAudience,
        IssuerSigningKey = options.CreateKey(),
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        RequireSignedTokens = true,
        RequireExpirationTime = true,
        ClockSkew = AuthOptions.ClockSkew,
        NameClaimType = NameClaim,
    };

    /// <summary>The user id (<c>sub</c>) of an authenticated principal, or <see langword="null"/>.</summary>
    /// <param name="user">The principal.</param>
    public static string? UserId(ClaimsPrincipal? user) =>
        user?.Identity?.IsAuthenticated == true ? user.FindFirst(SubjectClaim)?.Value : null;

    /// <summary>The display name (<c>name</c>) of a principal, or its id when it has none.</summary>
    /// <param name="user">The principal.</param>
    public static string DisplayName(ClaimsPrincipal? user) =>
        user?.FindFirst(NameClaim)?.Value ?? UserId(user) ?? "anonymous";
}
