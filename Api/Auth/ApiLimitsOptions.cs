using System.ComponentModel.DataAnnotations;

namespace AiStreaming.Api.Auth;

/// <summary>Per-user limits of the Api, bound from the <c>Limits</c> configuration section.</summary>
public sealed class ApiLimitsOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Limits";

    /// <summary>State-changing calls (create, post, cancel) per user per minute (fixed window). Default 30.</summary>
    [Range(1, 100_000)]
    public int PostsPerMinute { get; set; } = 30;

    /// <summary>Replies streaming at once per user, across all Api instances (counted in PostgreSQL). Default 3.</summary>
    [Range(1, 10_000)]
    public int MaxConcurrentGenerations { get; set; } = 3;
}
