using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace AiStreaming.Streamer.Auth;

/// <summary>
/// Which peers may tell the streamer the original request's host, scheme and client address (<c>X-Forwarded-Host</c>,
/// <c>X-Forwarded-Proto</c>, <c>X-Forwarded-For</c>): loopback (Web and Aspire's proxy on one machine) and the
/// addresses and ranges in <see cref="StreamerSecurityOptions.TrustedProxies"/> (in Azure Container Apps, the
/// environment's infrastructure subnet, where the ingress runs). ASP.NET Core's forwarded-headers middleware applies
/// them from those peers only; from any other peer the headers are ignored, so a client cannot pass a foreign page's
/// host off as the streamer's own origin (<see cref="OriginCheck"/>).
/// </summary>
internal static class ProxyTrust
{
    /// <summary>
    /// Configures <see cref="ForwardedHeadersOptions"/> from <paramref name="security"/>: the three headers, one proxy
    /// hop, loopback plus the configured proxies.
    /// </summary>
    /// <param name="forwarded">The options to fill.</param>
    /// <param name="security">The streamer's security options.</param>
    /// <exception cref="FormatException">An entry of <see cref="StreamerSecurityOptions.TrustedProxies"/> is neither an address nor a range.</exception>
    public static void Configure(ForwardedHeadersOptions forwarded, StreamerSecurityOptions security)
    {
        forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto | ForwardedHeaders.XForwardedHost;
        forwarded.ForwardLimit = 1;
        forwarded.KnownIPNetworks.Clear();
        forwarded.KnownProxies.Clear();
        forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse("127.0.0.0/8"));
        forwarded.KnownProxies.Add(IPAddress.IPv6Loopback);
        foreach (var entry in security.TrustedProxies)
        {
            if (entry.Contains('/', StringComparison.Ordinal))
            {
                forwarded.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(entry));
            }
            else
            {
                forwarded.KnownProxies.Add(IPAddress.Parse(entry));
            }
        }
    }

    /// <summary>Registers <see cref="Configure"/> for the forwarded-headers middleware.</summary>
    /// <param name="services">The services.</param>
    public static IServiceCollection AddProxyTrust(this IServiceCollection services)
    {
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<StreamerSecurityOptions>>((forwarded, security) => Configure(forwarded, security.Value));
        return services;
    }
}
