using AiStreaming.Streamer.Auth;
using Microsoft.AspNetCore.Http;

namespace AiStreaming.Tests.Security;

/// <summary>Unit tests of the streamer's origin rule (its per-user limits count in Redis: Tests.Integration/Security).</summary>
public class StreamerGuardTests
{
    [Theory]
    [InlineData("http://127.0.0.1:5000", "127.0.0.1:5000", null, true)]
    [InlineData("https://evil.example", "127.0.0.1:5000", null, false)]
    [InlineData("null", "127.0.0.1:5000", null, false)]
    [InlineData("http://127.0.0.1:5001", "127.0.0.1:5000", null, false)]
    [InlineData("http://127.0.0.1:8080", "127.0.0.1:5000", "127.0.0.1:8080", true)] // behind Web's proxy
    [InlineData("https://chat.example.com", "10.0.0.4:8080", "chat.example.com", true)]
    [InlineData("https://partner.example", "127.0.0.1:5000", null, true)] // configured
    public void Origin_must_be_the_requests_own_or_configured(string origin, string host, string? forwardedHost, bool allowed)
    {
        var context = new DefaultHttpContext();
        context.Request.Host = new HostString(host);
        if (forwardedHost is not null)
        {
            context.Request.Headers["X-Forwarded-Host"] = forwardedHost;
        }

        Assert.Equal(allowed, OriginCheck.IsAllowed(origin, context.Request, ["https://partner.example"]));
    }
}
