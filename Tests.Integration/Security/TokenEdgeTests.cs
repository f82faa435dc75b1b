using System.Net;
using System.Net.Http.Headers;
using AiStreaming.Channels.Security;
using AiStreaming.Tests.Api;
using AiStreaming.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace AiStreaming.Tests.Security;

/// <summary>A user token must name its user: a missing or empty <c>sub</c> is refused (issue 22, item 5).</summary>
[Collection(ServersCollection.Name)]
public class TokenEdgeTests(ServersFixture servers)
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public async Task A_user_token_without_a_subject_is_refused_with_401(string? subject)
    {
        await using var api = new ApiFactory(servers);
        var http = api.CreateAnonymousClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TokenWithSubject(subject));

        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/conversations")).StatusCode);
        // The same token with a subject is served: only the subject differs.
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TokenWithSubject("edge-" + Guid.NewGuid()));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/conversations")).StatusCode);
    }

    private static string TokenWithSubject(string? subject)
    {
        var claims = new Dictionary<string, object> { [UserTokens.NameClaim] = "nobody" };
        if (subject is not null)
        {
            claims[UserTokens.SubjectClaim] = subject;
        }
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = AuthOptions.Issuer,
            Audience = AuthOptions.UserAudience,
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddMinutes(2),
            Claims = claims,
            SigningCredentials = new SigningCredentials(TestAuth.Options.CreateKey(), SecurityAlgorithms.HmacSha256),
        });
    }
}
