using AiStreaming.Web.Security;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Configuration;

namespace AiStreaming.Web.Proxy;

/// <summary>
/// Registers and maps the YARP reverse proxy that puts the Api and the streamer tier behind Web's origin.
/// WebSockets, SSE and long polling are forwarded as streams (YARP does not buffer); no response
/// buffering or compression middleware may run on these paths.
/// </summary>
public static class ProxyExtensions
{
    /// <summary>
    /// Adds the proxy with routes and clusters built from configuration (<see cref="StreamingProxyConfig"/>).
    /// Startup fails with <see cref="OptionsValidationException"/> naming the missing key when the Api or
    /// the streamer has no endpoint.
    /// </summary>
    public static IHostApplicationBuilder AddStreamingProxy(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<StreamingProxyOptions>()
            .Configure<IConfiguration>((options, configuration) =>
            {
                options.ApiAddress = ServiceEndpoints.Read(configuration, StreamingProxyConfig.ApiClusterId);
                options.StreamerAddress = ServiceEndpoints.Read(configuration, StreamingProxyConfig.StreamerClusterId);
            })
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<StreamingProxyOptions>, StreamingProxyOptionsValidator>();

        // What LoadFromMemory registers, with the provider created on first use so the configuration is
        // read, and validated, through the options pipeline above.
        builder.Services.AddSingleton(services =>
        {
            var options = services.GetRequiredService<IOptions<StreamingProxyOptions>>().Value;
            return new InMemoryConfigProvider(StreamingProxyConfig.Routes, StreamingProxyConfig.Clusters(options));
        });
        builder.Services.AddSingleton<IProxyConfigProvider>(services => services.GetRequiredService<InMemoryConfigProvider>());
        builder.Services.AddReverseProxy().AddUserTokenTransform(); // user token from the cookie (Security/WebAuthExtensions.cs)

        return builder;
    }

    /// <summary>
    /// Maps <c>/api/**</c>, <c>/hubs/**</c> and <c>/sse/**</c> to their clusters: YARP's default pipeline, with
    /// <see cref="ProxyErrorLog"/> around it.
    /// </summary>
    public static IEndpointRouteBuilder MapStreamingProxy(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapReverseProxy(pipeline =>
        {
            pipeline.UseProxyErrorLog();
            pipeline.UseSessionAffinity();
            pipeline.UseLoadBalancing();
            pipeline.UsePassiveHealthChecks();
        });
        return endpoints;
    }
}
