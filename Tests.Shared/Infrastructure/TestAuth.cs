using System.Net.Http.Headers;
using System.Security.Cryptography;
using AiStreaming.Channels;
using AiStreaming.Channels.Security;

namespace AiStreaming.Tests.Infrastructure;

/// <summary>
/// The signing key the tests give the services (<c>Auth:SigningKey</c>, random per test run), and tokens made with it,
/// as Web and the Api would issue them.
/// </summary>
public static class TestAuth
{
    /// <summary>Base64 HMAC key of this test run.</summary>
    public static readonly string SigningKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    /// <summary>Options with <see cref="SigningKey"/>.</summary>
    public static AuthOptions Options { get; } = new() { SigningKey = SigningKey };

    /// <summary>Issues subscription tokens with <see cref="SigningKey"/>.</summary>
    public static SubscriptionTokens SubscriptionTokens { get; } = new(Options, TimeProvider.System);

    /// <summary>The default user of the Api tests.</summary>
    public const string DefaultUser = "test-user";

    /// <summary>A user token as Web attaches it (<c>Authorization: Bearer</c>).</summary>
    /// <param name="userId">User id (<c>sub</c>).</param>
    /// <param name="name">Display name; the id when omitted.</param>
    public static AuthenticationHeaderValue Bearer(string userId, string? name = null) =>
        new("Bearer", new UserTokens(Options, TimeProvider.System).Issue(userId, name ?? userId));

    /// <summary>A subscription token for <paramref name="userId"/> on <paramref name="channel"/>.</summary>
    public static string SubscriptionToken(string userId, string channel) =>
        SubscriptionTokens.Issue(userId, userId, ChannelName.Parse(channel)).Token;
}
