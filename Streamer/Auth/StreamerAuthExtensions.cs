
namespace AiStreaming.Streamer.Auth;

/// <summary>Registration of the streamer's identity checks.</summary>
internal static class StreamerAuthExtensions
{
    /// <summary>
    /// Adds user-token authentication (<c>AddUserTokenAuthentication</c>, shared with the Api; the hub is
    /// <c>[Authorize]</c>), <see cref="StreamerSecurityOptions"/> (validated on start), <see cref="ProxyTrust"/>, <see cref="SubscriptionGate"/>
    /// and <see cref="UserLimits"/>.
    /// </summary>
    public static IHostApplicationBuilder AddStreamerAuth(this IHostApplicationBuilder builder)
    {
        builder.AddUserTokenAuthentication();
        builder.Services.AddOptions<StreamerSecurityOptions>().BindConfiguration(StreamerSecurityOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddProxyTrust();
        builder.Services.AddSingleton<SubscriptionGate>();
        builder.Services.AddSingleton<UserLimits>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<UserLimits>());
        return builder;
    }

    /// <summary>Forwarded headers from trusted proxies only (<see cref="ProxyTrust"/>), the origin check, then authentication and authorization.</summary>
    public static WebApplication UseStreamerAuth(this WebApplication app)
    {
        app.UseForwardedHeaders();
        app.UseOriginCheck();
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }
}
