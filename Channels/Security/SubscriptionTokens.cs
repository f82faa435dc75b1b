using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AiStreaming.Channels.Security;

/// <summary>A subscription token and when it expires.</summary>
/// <param name="Token">Compact JWT.</param>
/// <param name="ExpiresAt">Its <c>exp</c> (UTC); refresh before.</param>
public sealed record SubscriptionToken(string Token, DateTimeOffset ExpiresAt);

/// <summary>Outcome of <see cref="SubscriptionTokens.ValidateAsync"/>.</summary>
/// <param name="Error"><see langword="null"/> when valid; else <c>forbidden</c> or <c>token_expired</c> (<see cref="SubscriptionTokens"/>).</param>
/// <param name="Reason">Why it was rejected, for the client (never the token).</param>
/// <param name="UserId">The token's <c>sub</c> when valid.</param>
/// <param name="DisplayName">The token's <c>name</c> when valid.</param>
/// <param name="ExpiresAt">The token's <c>exp</c> when valid.</param>
public sealed record SubscriptionTokenCheck(string? Error, string Reason, string? UserId, string? DisplayName, DateTimeOffset ExpiresAt)
{
    /// <summary>True when the token grants the subscription.</summary>
    public bool IsValid => Error is null;
}

/// <summary>
/// Channel subscription tokens, Centrifugo's channel-token model: a short-lived JWT (HS256, <c>aud</c> =
/// <see cref="AuthOptions.SubscriptionAudience"/>, claims <c>sub</c>, <c>channel</c>, <c>exp</c>, <c>name</c>) that
/// the Api issues only to the owner of a conversation, and that the streamer verifies on Subscribe and SSE without a
/// database call. Rejections carry a typed code: <see cref="Forbidden"/> (missing, forged, wrong channel, wrong
/// algorithm, malformed) or <see cref="Expired"/>.
/// </summary>
/// <param name="options">Key and lifetime.</param>
/// <param name="time">Clock used when issuing.</param>
public sealed class SubscriptionTokens(AuthOptions options, TimeProvider time)
{
    /// <summary>Error code of a missing or invalid token, or one for another channel or user.</summary>
    public const string Forbidden = "forbidden";

    /// <summary>Error code of an expired token: fetch a new one and subscribe again from the same position.</summary>
    public const string Expired = "token_expired";

    /// <summary>Claim holding the channel name.</summary>
    public const string ChannelClaim = "channel";

    private static readonly JsonWebTokenHandler Handler = new();
    private readonly SymmetricSecurityKey _key = options.CreateKey();

    /// <summary>Issues a token for <paramref name="channel"/>, valid for <see cref="AuthOptions.SubscriptionTokenLifetime"/>.</summary>
    /// <param name="userId">The owner (<c>sub</c>).</param>
    /// <param name="displayName">Display name shown in presence (<c>name</c>).</param>
    /// <param name="channel">The channel (<c>channel</c>).</param>
    public SubscriptionToken Issue(string userId, string displayName, ChannelName channel) =>
        Issue(userId, displayName, channel, time.GetUtcNow(), options.SubscriptionTokenLifetime);

    /// <summary>Issues a token with an explicit issue time and lifetime (tests issue expired ones).</summary>
    /// <param name="userId">The owner (<c>sub</c>).</param>
    /// <param name="displayName">Display name (<c>name</c>).</param>
    /// <param name="channel">The channel.</param>
    /// <param name="issuedAt">Issue time (<c>iat</c>, <c>nbf</c>).</param>
    /// <param name="lifetime">Time until <c>exp</c>.</param>
    public SubscriptionToken Issue(string userId, string displayName, ChannelName channel, DateTimeOffset issuedAt, TimeSpan lifetime)
    {
        var expires = issuedAt + lifetime;
        var token = Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = AuthOptions.Issuer,
            Audience = AuthOptions.SubscriptionAudience,
            IssuedAt = issuedAt.UtcDateTime,
            NotBefore = issuedAt.UtcDateTime,
            Expires = expires.UtcDateTime,
            Claims = new Dictionary<string, object>
            {
                [UserTokens.SubjectClaim] = userId,
                [UserTokens.NameClaim] = displayName,
                [ChannelClaim] = channel.Value,
            },
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.HmacSha256),
        });
        // exp has whole-second precision (RFC 7519 NumericDate).
        return new SubscriptionToken(token, DateTimeOffset.FromUnixTimeSeconds(expires.ToUnixTimeSeconds()));
    }

    /// <summary>
    /// Verifies <paramref name="token"/> for <paramref name="channel"/>: signature (HS256 only), issuer, audience,
    /// lifetime (skew <see cref="AuthOptions.ClockSkew"/>) and the <c>channel</c> claim. CPU only, no I/O.
    /// </summary>
    /// <param name="token">The token, or <see langword="null"/>.</param>
    /// <param name="channel">The channel being subscribed.</param>
    /// <returns>The outcome; never throws for bad input.</returns>
    public async Task<SubscriptionTokenCheck> ValidateAsync(string? token, ChannelName channel)
    {
        if (string.IsNullOrEmpty(token))
        {
            return Reject(Forbidden, "a subscription token is required (GET /api/conversations/{id}/token).");
        }
        if (token.Length > 4096)
        {
            return Reject(Forbidden, "invalid subscription token.");
        }
        var result = await Handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = AuthOptions.Issuer,
            ValidAudience = AuthOptions.SubscriptionAudience,
            IssuerSigningKey = _key,
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ClockSkew = AuthOptions.ClockSkew,
        });
        if (!result.IsValid)
        {
            return result.Exception is SecurityTokenExpiredException
                ? Reject(Expired, "the subscription token expired; fetch a new one and subscribe again from the same position.")
                : Reject(Forbidden, "invalid subscription token.");
        }
        var claims = result.Claims;
        if (!claims.TryGetValue(ChannelClaim, out var claimed) || claimed as string != channel.Value)
        {
            return Reject(Forbidden, "the subscription token is for another channel.");
        }
        if (!claims.TryGetValue(UserTokens.SubjectClaim, out var sub) || sub is not string userId || userId.Length == 0)
        {
            return Reject(Forbidden, "invalid subscription token.");
        }
        var name = claims.TryGetValue(UserTokens.NameClaim, out var n) ? n as string : null;
        return new SubscriptionTokenCheck(null, "", userId, name ?? userId, new DateTimeOffset(result.SecurityToken.ValidTo, TimeSpan.Zero));
    }

    private static SubscriptionTokenCheck Reject(string code, string reason) => new(code, reason, null, null, default);
}
