using System.Security.Claims;
using AiStreaming.Channels.Security;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;

namespace AiStreaming.Streamer.Auth;

/// <summary>Registration of the streamer's identity checks.</summary>
internal static class StreamerAuthExtensions
{
    /// <summary>
    /// Adds <see cref="AuthOptions"/> and <see cref="StreamerSecurityOptions"/> (validated on start), JwtBearer
    /// authentication of user tokens (the hub is <c>[Authorize]</c>), <see cref="SubscriptionTokens"/>,
    /// <see cref="SubscriptionGate"/> and <see cref="UserLimits"/>.
    /// </summary>
    public static IHostApplicationBuilder AddStreamerAuth(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<StreamerSecurityOptions>().BindConfiguration(StreamerSecurityOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        builder.Services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<IOptions<AuthOptions>>((bearer, auth) =>
            {
                bearer.MapInboundClaims = false;
                bearer.TokenValidationParameters = UserTokens.ValidationParameters(auth.Value);
                bearer.Events = new JwtBearerEvents
                {
                    // A hub connection keeps its principal for its whole life: keep only the two claims the streamer
                    // reads (sub, name), not the parsed token and all its claims (≈ 3 KB per connection, docs/BENCHMARKS.md).
                    OnTokenValidated = context =>
                    {
                        var user = context.Principal;
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
        builder.Services.AddSingleton<SubscriptionGate>();
        builder.Services.AddSingleton<UserLimits>();
        return builder;
    }

    /// <summary>The origin check, then authentication and authorization.</summary>
    public static WebApplication UseStreamerAuth(this WebApplication app)
    {
        app.UseOriginCheck();
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }
}
