using AiStreaming.Channels;
using AiStreaming.Channels.Security;
using Microsoft.Extensions.Options;

namespace AiStreaming.Streamer.Auth;

/// <summary>A granted subscription: the channel and the user the token names.</summary>
/// <param name="Channel">The channel.</param>
/// <param name="UserId">The token's <c>sub</c>.</param>
/// <param name="DisplayName">The token's <c>name</c>.</param>
/// <param name="ExpiresAt">The token's <c>exp</c>.</param>
public sealed record SubscriptionGrant(ChannelName Channel, string UserId, string DisplayName, DateTimeOffset ExpiresAt)
{
    /// <summary>
    /// A source that is cancelled when the subscription token expires (<see cref="ExpiresAt"/> plus
    /// <see cref="AuthOptions.ClockSkew"/>, on <paramref name="time"/>'s clock): a subscription lives no longer than its
    /// token, so a client must subscribe again with a fresh one (the page does at 80 % of the lifetime). It fires on
    /// expiry only, never when the client goes away. Dispose it when the subscription ends.
    /// </summary>
    /// <param name="time">Clock.</param>
    public CancellationTokenSource StartExpiryTimer(TimeProvider time)
    {
        var remaining = ExpiresAt + AuthOptions.ClockSkew - time.GetUtcNow();
        return new CancellationTokenSource(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, time);
    }
}

/// <summary>A refused subscription: a typed code (docs/protocol.md) and a reason for the client.</summary>
/// <param name="Code"><c>invalid_channel</c>, <c>forbidden</c> or <c>token_expired</c>.</param>
/// <param name="Reason">Human-readable reason (never contains the token).</param>
public sealed record SubscriptionRefusal(string Code, string Reason)
{
    /// <summary>HTTP status of the refusal on SSE: 400, 401 (<c>token_expired</c>) or 403.</summary>
    public int StatusCode => Code switch
    {
        SubscriptionTokens.Expired => StatusCodes.Status401Unauthorized,
        SubscriptionTokens.Forbidden => StatusCodes.Status403Forbidden,
        _ => StatusCodes.Status400BadRequest,
    };
}

/// <summary>
/// Checks a Subscribe (hub) or SSE request before any subscription opens: a valid channel name in a known namespace
/// (<see cref="StreamerSecurityOptions.Namespaces"/>) and a subscription token for that channel
/// (<see cref="SubscriptionTokens"/>, CPU only, no database). Where the caller is known (the hub connection's user, or
/// the user token of an SSE request) the token's <c>sub</c> must also be that user. Each refusal is logged once, at Information, without a stack trace.
/// </summary>
internal sealed partial class SubscriptionGate(
    SubscriptionTokens tokens, IOptions<StreamerSecurityOptions> options, ILogger<SubscriptionGate> logger)
{
    /// <summary>Checks a subscription.</summary>
    /// <param name="channel">Channel name as the client sent it.</param>
    /// <param name="token">Subscription token, or <see langword="null"/>.</param>
    /// <param name="connectionUserId">The caller (hub connection's user, SSE request's user token), or <see langword="null"/> when unknown.</param>
    /// <param name="transport"><c>hub</c> or <c>sse</c>, for the log.</param>
    /// <returns>The grant, or the refusal.</returns>
    public async Task<(SubscriptionGrant? Grant, SubscriptionRefusal? Refusal)> CheckAsync(
        string? channel, string? token, string? connectionUserId, string transport)
    {
        if (!ChannelName.TryParse(channel, out var name))
        {
            return Refuse("invalid_channel", "expected a channel name like 'conv:{id}' ([a-z][a-z0-9_-]{0,31}:[A-Za-z0-9_-]{1,64}).", channel, transport);
        }
        var ns = name.Value[..name.Value.IndexOf(':', StringComparison.Ordinal)];
        if (!options.Value.Namespaces.Contains(ns, StringComparer.Ordinal))
        {
            return Refuse("invalid_channel", $"unknown channel namespace '{ns}'.", channel, transport);
        }
        var check = await tokens.ValidateAsync(token, name);
        if (!check.IsValid)
        {
            return Refuse(check.Error!, check.Reason, channel, transport);
        }
        if (connectionUserId is not null && connectionUserId != check.UserId)
        {
            return Refuse(SubscriptionTokens.Forbidden, "the subscription token belongs to another user.", channel, transport);
        }
        return (new SubscriptionGrant(name, check.UserId!, check.DisplayName!, check.ExpiresAt), null);
    }

    /// <summary>Logs a refusal decided elsewhere (limits) once, at Information.</summary>
    public void LogRefused(string code, string? channel, string transport) => Log.Refused(logger, transport, Clip(channel), code);

    private (SubscriptionGrant?, SubscriptionRefusal?) Refuse(string code, string reason, string? channel, string transport)
    {
        Log.Refused(logger, transport, Clip(channel), code);
        return (null, new SubscriptionRefusal(code, reason));
    }

    // Client input in a log line: bounded.
    private static string Clip(string? value) => value is null ? "" : value.Length <= 100 ? value : value[..100] + "…";

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Information, "Refused {Transport} subscription to '{Channel}': {Code}")]
        public static partial void Refused(ILogger logger, string transport, string channel, string code);
    }
}
