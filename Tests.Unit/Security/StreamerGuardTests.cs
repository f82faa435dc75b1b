using AiStreaming.Streamer.Auth;
using Microsoft.AspNetCore.Http;

namespace AiStreaming.Tests.Security;

/// <summary>Unit tests of the streamer's per-user limits and origin rule.</summary>
public class StreamerGuardTests
{
    [Fact]
    public void A_user_gets_at_most_the_limit_and_a_released_slot_can_be_taken_again()
    {
        var limits = new UserLimits();

        Assert.True(limits.TryAcquireSubscription("alice", 2));
        Assert.True(limits.TryAcquireSubscription("alice", 2));
        Assert.False(limits.TryAcquireSubscription("alice", 2));
        Assert.True(limits.TryAcquireSubscription("bob", 2)); // per user

        limits.ReleaseSubscription("alice");
        Assert.True(limits.TryAcquireSubscription("alice", 2));
    }

    [Fact]
    public async Task Concurrent_acquires_never_exceed_the_limit()
    {
        var limits = new UserLimits();
        var granted = 0;
        await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(() =>
        {
            if (limits.TryAcquireConnection("alice", 10))
            {
                Interlocked.Increment(ref granted);
            }
        })));

        Assert.Equal(10, granted);
    }

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
