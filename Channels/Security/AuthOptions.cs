using System.ComponentModel.DataAnnotations;
using Microsoft.IdentityModel.Tokens;

namespace AiStreaming.Channels.Security;

/// <summary>
/// Keys and lifetimes of the tokens the services exchange, bound from the <c>Auth</c> configuration section. The same
/// <see cref="SigningKey"/> is configured on Web (issues user tokens), the Api (validates user tokens, issues
/// subscription tokens) and the streamer (validates both). The AppHost generates one per run, like an Aspire
/// <c>AddParameter(secret: true)</c>; in production it comes from a secret store (Key Vault, Container Apps secrets).
/// </summary>
public sealed class AuthOptions : IValidatableObject
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Auth";

    /// <summary>Fewest bytes of <see cref="SigningKey"/>: 256 bits, the HS256 key size RFC 7518 §3.2 requires.</summary>
    public const int MinKeyBytes = 32;

    /// <summary>Issuer (<c>iss</c>) of every token the services issue.</summary>
    public const string Issuer = "aistreaming";

    /// <summary>Audience (<c>aud</c>) of user tokens: Web → Api and streamer.</summary>
    public const string UserAudience = "aistreaming-services";

    /// <summary>Audience (<c>aud</c>) of subscription tokens: Api → client → streamer.</summary>
    public const string SubscriptionAudience = "aistreaming-subscribe";

    /// <summary>Clock skew tolerated on <c>exp</c>/<c>nbf</c> between services: 5 s.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(5);

    /// <summary>HMAC-SHA256 key, base64, at least <see cref="MinKeyBytes"/> bytes. A secret: never logged.</summary>
    [Required]
    public string SigningKey { get; set; } = "";

    /// <summary>Lifetime of a subscription token; clients refresh at about 80 % of it. Default 5 min.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "01:00:00")]
    public TimeSpan SubscriptionTokenLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Lifetime of the user token Web attaches to each proxied request. Default 2 min.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "01:00:00")]
    public TimeSpan UserTokenLifetime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The decoded <see cref="SigningKey"/>.</summary>
    /// <exception cref="InvalidOperationException">The key is not base64 or shorter than <see cref="MinKeyBytes"/>.</exception>
    public SymmetricSecurityKey CreateKey() =>
        TryDecode(SigningKey, out var bytes)
            ? new SymmetricSecurityKey(bytes) { KeyId = "aistreaming" }
            : throw new InvalidOperationException($"{SectionName}:{nameof(SigningKey)} must be base64 of at least {MinKeyBytes} bytes.");

    /// <inheritdoc/>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // The message names the key, never its value.
        if (!TryDecode(SigningKey, out _))
        {
            yield return new ValidationResult(
                $"{SectionName}:{nameof(SigningKey)} must be base64 of at least {MinKeyBytes} bytes (e.g. `openssl rand -base64 32`).",
                [nameof(SigningKey)]);
        }
    }

    private static bool TryDecode(string value, out byte[] bytes)
    {
        bytes = new byte[(value.Length * 3 / 4) + 3];
        if (Convert.TryFromBase64String(value, bytes, out var written) && written >= MinKeyBytes)
        {
            bytes = bytes[..written];
            return true;
        }
        bytes = [];
        return false;
    }
}
