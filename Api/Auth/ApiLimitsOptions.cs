using System.ComponentModel.DataAnnotations;

namespace AiStreaming.Api.Auth;

/// <summary>Per-user limits of the Api, bound from the <c>Limits</c> configuration section.</summary>
public sealed class ApiLimitsOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Limits";

    /// <summary>
    /// State-changing calls (create, post, cancel) per user per minute, across all Api replicas (a fixed window counted in
    /// Redis, <see cref="PostsQuota"/>). Default 30.
    /// </summary>
    [Range(1, 100_000)]
    public int PostsPerMinute { get; set; } = 30;

    /// <summary>Replies streaming at once per user, across all Api instances (counted in PostgreSQL). Default 3.</summary>
    [Range(1, 10_000)]
    public int MaxConcurrentGenerations { get; set; } = 3;

    /// <summary>
    /// Longest wait for Redis when counting a call; past it (or while Redis is disconnected) the call is let through
    /// (fail-open, <see cref="PostsQuota"/>). Default 1 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:30")]
    public TimeSpan RedisTimeout { get; set; } = TimeSpan.FromSeconds(1);
}
