using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.Cookies;
using StackExchange.Redis;

namespace AiStreaming.Web.Security;

/// <summary>
/// Server-side sign-out: each sign-in gets a session id (claim <see cref="SessionClaim"/>, inside the encrypted cookie);
/// signing out writes <c>web:revoked-session:{id}</c> to Redis for the cookie's whole lifetime, and every request with
/// that cookie is then anonymous (401 on <c>/api</c>, a new sign-in on pages), on every Web replica.
/// </summary>
/// <remarks>
/// A revocation list rather than a ticket store: the cookie stays the session, so a Redis restart without persistence
/// (the local server has none) signs nobody out, while a revoked cookie stays refused until it would have expired. If
/// Redis cannot be asked, the cookie is accepted and a warning logged: during such an outage the Api and the streamers
/// are down too, and failing closed would sign every user out of the page.
/// </remarks>
/// <param name="redis">Web's Redis connection.</param>
/// <param name="logger">Logger.</param>
public sealed partial class SessionRevocation(IConnectionMultiplexer redis, ILogger<SessionRevocation> logger)
{
    /// <summary>Claim holding the session id (32 hex digits).</summary>
    public const string SessionClaim = "sid";

    /// <summary>Revokes the session of <paramref name="user"/>, if it has one, for <paramref name="lifetime"/> (the cookie's longest life).</summary>
    /// <exception cref="RedisException">Redis is unavailable: the sign-out fails rather than pretend.</exception>
    public async Task RevokeAsync(ClaimsPrincipal user, TimeSpan lifetime)
    {
        if (user.FindFirst(SessionClaim)?.Value is { Length: > 0 } session)
        {
            await redis.GetDatabase().StringSetAsync(Key(session), "1", lifetime);
            LogRevoked(logger, session);
        }
    }

    /// <summary>Cookie event: rejects a principal whose session was revoked (or that has no session id).</summary>
    public async Task ValidateAsync(CookieValidatePrincipalContext context)
    {
        if (context.Principal?.FindFirst(SessionClaim)?.Value is not { Length: > 0 } session)
        {
            context.RejectPrincipal();
            return;
        }
        try
        {
            if (await redis.GetDatabase().KeyExistsAsync(Key(session)))
            {
                context.RejectPrincipal();
            }
        }
        catch (RedisException ex)
        {
            LogUnchecked(logger, ex.GetType().Name, ex.Message);
        }
    }

    private static RedisKey Key(string session) => $"web:revoked-session:{session}";

    [LoggerMessage(LogLevel.Information, "Signed out session {Session}")]
    private static partial void LogRevoked(ILogger logger, string session);

    [LoggerMessage(LogLevel.Warning, "Could not check the session against Redis ({Error}: {Message}); accepting the cookie")]
    private static partial void LogUnchecked(ILogger logger, string error, string message);
}
