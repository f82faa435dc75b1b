using System.Collections.Concurrent;

namespace AiStreaming.Streamer.Auth;

/// <summary>
/// Per-user counters of this replica (hub connections, subscriptions), checked against
/// <see cref="StreamerSecurityOptions"/>. Per replica: a user spread over N replicas may hold up to N times the
/// limit, which bounds what one client can take from one node.
/// </summary>
internal sealed class UserLimits
{
    private readonly ConcurrentDictionary<string, int> _connections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _subscriptions = new(StringComparer.Ordinal);

    /// <summary>Counts a connection of <paramref name="userId"/> unless it already has <paramref name="max"/>.</summary>
    /// <returns><see langword="true"/> when counted; release it with <see cref="ReleaseConnection"/>.</returns>
    public bool TryAcquireConnection(string userId, int max) => TryAcquire(_connections, userId, max);

    /// <summary>Releases a connection counted by <see cref="TryAcquireConnection"/>.</summary>
    public void ReleaseConnection(string userId) => Release(_connections, userId);

    /// <summary>Counts a subscription of <paramref name="userId"/> unless it already has <paramref name="max"/>.</summary>
    /// <returns><see langword="true"/> when counted; release it with <see cref="ReleaseSubscription"/>.</returns>
    public bool TryAcquireSubscription(string userId, int max) => TryAcquire(_subscriptions, userId, max);

    /// <summary>Releases a subscription counted by <see cref="TryAcquireSubscription"/>.</summary>
    public void ReleaseSubscription(string userId) => Release(_subscriptions, userId);

    private static bool TryAcquire(ConcurrentDictionary<string, int> counts, string userId, int max)
    {
        while (true)
        {
            var current = counts.GetValueOrDefault(userId);
            if (current >= max)
            {
                return false;
            }
            if (current == 0 ? counts.TryAdd(userId, 1) : counts.TryUpdate(userId, current + 1, current))
            {
                return true;
            }
        }
    }

    private static void Release(ConcurrentDictionary<string, int> counts, string userId)
    {
        while (counts.TryGetValue(userId, out var current))
        {
            if (current <= 1 ? counts.TryRemove(new KeyValuePair<string, int>(userId, current)) : counts.TryUpdate(userId, current - 1, current))
            {
                return;
            }
        }
    }
}
