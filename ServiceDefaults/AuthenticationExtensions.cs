using System.Security.Claims;
using AiStreaming.Channels.Security;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// The services' side of the user token Web attaches to every proxied request (as eShop's ServiceDefaults carry
/// <c>AddDefaultAuthentication</c>): one wiring for the Api and the streamer.
/// </summary>
public static class AuthenticationExtensions
{
    /// <summary>
    /// Adds <see cref="AuthOptions"/> (section <c>Auth</c>, validated on start), JwtBearer authentication of user tokens
    /// (<see cref="UserTokens.ValidationParameters"/>, claims as issued; a token without a non-empty <c>sub</c> is refused,
    /// 401), authorization and a singleton
    /// <see cref="SubscriptionTokens"/>. The authenticated principal keeps only <c>sub</c> and <c>name</c>, the two
    /// claims the services read: a hub connection holds its principal for its whole life, and the parsed token with all
    /// its claims cost ≈ 3 KB per connection (docs/BENCHMARKS.md).
    /// </summary>
    /// <param name="builder">The application builder.</param>
    /// <returns>The same builder.</returns>
    public static IHostApplicationBuilder AddUserTokenAuthentication(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<AuthOptions>>((bearer, auth) =>
            {
                bearer.MapInboundClaims = false;
                bearer.TokenValidationParameters = UserTokens.ValidationParameters(auth.Value);
                bearer.Events = new JwtBearerEvents
                {
                    OnTokenValidated = context =>
                    {
                        var user = context.Principal;
                        // Every user is a non-empty sub: without one, all such tokens would be one anonymous user.
                        if (string.IsNullOrEmpty(UserTokens.UserId(user)))
                        {
                            context.Fail("The token has no subject (sub).");
                            return Task.CompletedTask;
                        }
                        context.Principal = new ClaimsPrincipal(new ClaimsIdentity(
                            [new Claim(UserTokens.SubjectClaim, UserTokens.UserId(user) ?? ""), new Claim(UserTokens.NameClaim, UserTokens.DisplayName(user))],
                            context.Scheme.Name, UserTokens.NameClaim, roleType: null));
                        return Task.CompletedTask;
                    },
                };
            });
        builder.Services.AddAuthorization();
        builder.Services.AddSingleton(sp => new SubscriptionTokens(
            sp.GetRequiredService<IOptions<AuthOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
        return builder;
    }
}
