using System.Text.RegularExpressions;

namespace AiStreaming.AppHost.Hosting.Dashboard;

/// <summary>
/// Keeps secrets off the dashboard's pages: a value whose key names a secret (password, pwd, secret, credential, connection string, api key,
/// or ending in key or token) is replaced by <see cref="Masked"/>, and <c>name=value</c> pairs of such names inside text (connection
/// strings, <c>redis://user:pass@host</c> URLs in console output and log messages) are masked in place.
/// </summary>
internal static partial class SecretMask
{
    public const string Masked = "••••••";

    /// <summary>True when <paramref name="key"/> names a secret, e.g. <c>ConnectionStrings__redis</c>, <c>Chat:Key</c>, <c>db.password</c>.</summary>
    public static bool IsSecretKey(string key) => SecretKey().IsMatch(key);

    /// <summary>The text with secret values masked; null and empty pass through.</summary>
    public static string Mask(string text) =>
        string.IsNullOrEmpty(text) ? text : UserInfo().Replace(SecretPair().Replace(text, m => m.Groups[1].Value + Masked), m => m.Groups[1].Value + Masked + "@");

    [GeneratedRegex(@"(password|passwd|pwd|secret|credential|connectionstring|api[_-]?key|(^|[_.:-])(key|token)$|^t$)", RegexOptions.IgnoreCase)]
    private static partial Regex SecretKey();

    // "Password=…;" "Key=…;" "token=…&" inside connection strings and query strings; stops at ; & , whitespace or quotes.
    [GeneratedRegex(@"\b((?:password|passwd|pwd|secret|key|apikey|api[_-]key|access[_-]?token|token|t)\s*=\s*)[^;&,\s""']+", RegexOptions.IgnoreCase)]
    private static partial Regex SecretPair();

    // "scheme://user:secret@host"
    [GeneratedRegex(@"(://[^/:@\s]*:)[^@/\s]+@")]
    private static partial Regex UserInfo();
}
