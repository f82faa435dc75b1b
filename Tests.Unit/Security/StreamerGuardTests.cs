using AiStreaming.Streamer.Auth;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AiStreaming.Tests.Security;

/// <summary>
/// Unit tests of the streamer's origin rule and of which peers' forwarded headers it believes (its per-user limits count in
/// Redis: Tests.Integration/Security).
/// </summary>
public class StreamerGuardTests
{
    [Theory]
    [InlineData("http://127.0.0.1:5000", "127.0.0.1:5000", true)]
    [InlineData("https://evil.example", "127.0.0.1:5000", false)]
    [InlineData("null", "127.0.0.1:5000", false)]
    [InlineData("http://127.0.0.1:5001", "127.0.0.1:5000", false)]
    [InlineData("https://chat.example.com", "chat.example.com", true)] // Host as a trusted proxy forwarded it
    [InlineData("https://partner.example", "127.0.0.1:5000", true)] // configured
    public void Origin_must_be_the_requests_own_or_configured(string origin, string host, bool allowed)
    {
        var context = new DefaultHttpContext();
        context.Request.Host = new HostString(host);

        Assert.Equal(allowed, OriginCheck.IsAllowed(origin, context.Request, ["https://partner.example"]));
    }

    [Theory]
    [InlineData("203.0.113.9", false)] // any client
    [InlineData("10.0.1.20", true)] // the ingress's range, configured
    [InlineData("10.0.9.20", false)] // outside it
    [InlineData("127.0.0.1", true)] // Web on the same machine
    public async Task X_forwarded_host_is_believed_only_from_a_trusted_proxy(string peer, bool trusted)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(peer);
        context.Request.Host = new HostString("10.0.0.4:8080");
        context.Request.Headers["X-Forwarded-Host"] = "evil.example";
        context.Request.Headers["X-Forwarded-Proto"] = "https";
        var forwarded = new ForwardedHeadersOptions();
        ProxyTrust.Configure(forwarded, new StreamerSecurityOptions { TrustedProxies = ["10.0.0.0/23"] });

        await new ForwardedHeadersMiddleware(_ => Task.CompletedTask, NullLoggerFactory.Instance, Options.Create(forwarded)).Invoke(context);

        Assert.Equal(trusted, OriginCheck.IsAllowed("https://evil.example", context.Request, []));
        Assert.Equal(trusted ? "evil.example" : "10.0.0.4:8080", context.Request.Host.Value);
    }

    [Fact]
    public void Trusted_proxies_must_be_addresses_or_ranges()
    {
        var attribute = new TrustedProxyListAttribute();
        Assert.True(attribute.IsValid(new[] { "10.0.0.4", "10.0.0.0/23", "::1" }));
        Assert.False(attribute.IsValid(new[] { "ingress.internal" }));
    }
}
