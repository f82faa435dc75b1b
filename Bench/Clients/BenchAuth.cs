using System.Collections.Concurrent;
using System.Security.Cryptography;
using AiStreaming.Channels;
using AiStreaming.Channels.Security;

namespace AiStreaming.Bench.Clients;

/// <summary>
/// The bench's identity: it starts the stack with a signing key of its own (<c>--Auth:SigningKey</c> to the AppHost) and
/// mints what Web and the Api would hand a signed-in user: a user token (the bearer Web adds to proxied requests) and
/// subscription tokens, both valid for an hour so no run outlives them. One user, <c>bench</c>; the stack's per-user
/// limits are raised for the run (<see cref="LimitsEnvironment"/>), since all load comes from that one user.
/// </summary>
internal static class BenchAuth
{
    private static readonly ConcurrentDictionary<string, string> Subscriptions = new();
    private static AuthOptions _options = new();
    private static string _userToken = "";

    /// <summary>The user id the bench acts as.</summary>
    public const string UserId = "dev:bench";

    /// <summary>Service settings that lift the per-user limits for a load run (one user drives it all).</summary>
    public static IReadOnlyDictionary<string, string> LimitsEnvironment { get; } = new Dictionary<string, string>
    {
        ["Limits__PostsPerMinute"] = "100000",
        ["Limits__MaxConcurrentGenerations"] = "10000",
        ["StreamerSecurity__MaxConnectionsPerUser"] = "100000",
        ["StreamerSecurity__MaxSubscriptionsPerUser"] = "100000",
    };

    /// <summary>A new random signing key (base64, 32 bytes), installed for minting; pass it to the AppHost.</summary>
    public static string NewKey()
    {
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(AuthOptions.MinKeyBytes));
        _options = new AuthOptions { SigningKey = key, UserTokenLifetime = TimeSpan.FromHours(1), SubscriptionTokenLifetime = TimeSpan.FromHours(1) };
        _userToken = new UserTokens(_options, TimeProvider.System).Issue(UserId, "bench");
        Subscriptions.Clear();
        return key;
    }

    /// <summary>The bearer token for the Api and the hub.</summary>
    public static string UserToken => _userToken;

    /// <summary>A subscription token for <paramref name="channel"/> (cached per channel).</summary>
    public static string SubscriptionToken(string channel) =>
        Subscriptions.GetOrAdd(channel, static c =>
            new SubscriptionTokens(_options, TimeProvider.System).Issue(UserId, "bench", ChannelName.Parse(c), DateTimeOffset.UtcNow, TimeSpan.FromHours(1)).Token);
}
