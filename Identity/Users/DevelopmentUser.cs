using System.Text.RegularExpressions;

namespace AiStreaming.Identity.Users;

/// <summary>A user of the development provider: a name and a password hash (ASP.NET Core Identity's PBKDF2 format).</summary>
public sealed partial class DevelopmentUser
{
    /// <summary>Longest user name, in characters.</summary>
    public const int MaxUserNameLength = 40;

    /// <summary>The subject (<c>sub</c>) the provider issues: <c>dev:{user name in lower case}</c>.</summary>
    public required string Id { get; init; }

    /// <summary>The name as first registered; shown as the user's display name (<c>name</c>).</summary>
    public required string UserName { get; init; }

    /// <summary>The password's hash (<c>PasswordHasher</c>).</summary>
    public required string PasswordHash { get; set; }

    /// <summary>The subject of <paramref name="userName"/> (names are case-insensitive).</summary>
    public static string SubjectOf(string userName) => "dev:" + userName.Trim().ToLowerInvariant();

    /// <summary>Whether <paramref name="userName"/> is 1–40 letters, digits, spaces, <c>.</c>, <c>-</c> or <c>_</c>.</summary>
    public static bool IsValidUserName(string? userName) => userName is not null && UserNamePattern().IsMatch(userName.Trim());

    [GeneratedRegex(@"^[\p{L}\p{N} ._-]{1,40}$", RegexOptions.CultureInvariant)]
    private static partial Regex UserNamePattern();
}
