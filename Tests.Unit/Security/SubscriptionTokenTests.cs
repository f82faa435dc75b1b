using System.Text;
using AiStreaming.Channels;
using AiStreaming.Channels.Security;
using AiStreaming.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AiStreaming.Tests.Security;

/// <summary>Subscription tokens (<see cref="SubscriptionTokens"/>): what is accepted and the typed code of each refusal.</summary>
public class SubscriptionTokenTests
{
    private static readonly ChannelName Channel = ChannelName.ForConversation(Guid.NewGuid());

    [Fact]
    public async Task A_token_for_the_channel_is_accepted_with_its_user()
    {
        var token = TestAuth.SubscriptionTokens.Issue("alice", "Alice", Channel);

        var check = await TestAuth.SubscriptionTokens.ValidateAsync(token.Token, Channel);

        Assert.True(check.IsValid);
        Assert.Equal("alice", check.UserId);
        Assert.Equal("Alice", check.DisplayName);
        Assert.Equal(token.ExpiresAt, check.ExpiresAt);
    }

    [Fact]
    public async Task Expired_token_is_rejected_with_token_expired()
    {
        var token = TestAuth.SubscriptionTokens.Issue("alice", "Alice", Channel, DateTimeOffset.UtcNow.AddMinutes(-10), TimeSpan.FromMinutes(1));

        var check = await TestAuth.SubscriptionTokens.ValidateAsync(token.Token, Channel);

        Assert.Equal(SubscriptionTokens.Expired, check.Error);
    }

    [Fact]
    public async Task Token_for_another_channel_is_rejected_with_forbidden()
    {
        var token = TestAuth.SubscriptionTokens.Issue("alice", "Alice", ChannelName.ForConversation(Guid.NewGuid()));

        Assert.Equal(SubscriptionTokens.Forbidden, (await TestAuth.SubscriptionTokens.ValidateAsync(token.Token, Channel)).Error);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not.a.jwt")]
    [InlineData("garbage")]
    public async Task Missing_or_malformed_token_is_rejected_with_forbidden(string? token)
    {
        Assert.Equal(SubscriptionTokens.Forbidden, (await TestAuth.SubscriptionTokens.ValidateAsync(token, Channel)).Error);
    }

    [Fact]
    public async Task Token_signed_with_another_key_is_rejected_with_forbidden()
    {
        var other = new SubscriptionTokens(new AuthOptions { SigningKey = Convert.ToBase64String(new byte[32]) }, TimeProvider.System);
        var forged = other.Issue("alice", "Alice", Channel);

        Assert.Equal(SubscriptionTokens.Forbidden, (await TestAuth.SubscriptionTokens.ValidateAsync(forged.Token, Channel)).Error);
    }

    [Fact]
    public async Task Token_with_a_tampered_payload_is_rejected_with_forbidden()
    {
        var token = TestAuth.SubscriptionTokens.Issue("alice", "Alice", Channel).Token;
        var parts = token.Split('.');
        var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace("alice", "mallory", StringComparison.Ordinal);
        var tampered = $"{parts[0]}.{Base64UrlEncoder.Encode(payload)}.{parts[2]}";

        Assert.Equal(SubscriptionTokens.Forbidden, (await TestAuth.SubscriptionTokens.ValidateAsync(tampered, Channel)).Error);
    }

    [Fact]
    public async Task Unsigned_token_with_alg_none_is_rejected_with_forbidden()
    {
        var header = Base64UrlEncoder.Encode("""{"alg":"none","typ":"JWT"}""");
        var exp = DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds();
        var payload = Base64UrlEncoder.Encode(
            $$"""{"sub":"alice","channel":"{{Channel.Value}}","exp":{{exp}},"iss":"{{AuthOptions.Issuer}}","aud":"{{AuthOptions.SubscriptionAudience}}"}""");

        Assert.Equal(SubscriptionTokens.Forbidden, (await TestAuth.SubscriptionTokens.ValidateAsync($"{header}.{payload}.", Channel)).Error);
    }

    [Fact]
    public async Task Token_signed_with_another_algorithm_is_rejected_with_forbidden()
    {
        // HS512 with the right key: only HS256 is accepted.
        var key = TestAuth.Options.CreateKey();
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = AuthOptions.Issuer,
            Audience = AuthOptions.SubscriptionAudience,
            Expires = DateTime.UtcNow.AddMinutes(5),
            Claims = new Dictionary<string, object> { ["sub"] = "alice", ["channel"] = Channel.Value },
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey([.. key.Key, .. key.Key]), SecurityAlgorithms.HmacSha512),
        });

        Assert.Equal(SubscriptionTokens.Forbidden, (await TestAuth.SubscriptionTokens.ValidateAsync(token, Channel)).Error);
    }

    [Fact]
    public async Task A_user_token_is_not_a_subscription_token()
    {
        var userToken = new UserTokens(TestAuth.Options, TimeProvider.System).Issue("alice", "Alice");

        Assert.Equal(SubscriptionTokens.Forbidden, (await TestAuth.SubscriptionTokens.ValidateAsync(userToken, Channel)).Error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("c2hvcnQ=")]
    [InlineData("not base64 at all")]
    public void A_signing_key_shorter_than_32_bytes_fails_validation(string key)
    {
        var options = new AuthOptions { SigningKey = key };
        var results = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
        var valid = System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new(options), results, validateAllProperties: true);

        Assert.False(valid);
        Assert.DoesNotContain(results, r => key.Length > 0 && r.ErrorMessage!.Contains(key, StringComparison.Ordinal));
    }
}
