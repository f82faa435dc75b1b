using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AiStreaming.Channels;
using AiStreaming.Tests.Aspire;
using AiStreaming.Tests.EndToEnd;
using AiStreaming.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace AiStreaming.Tests.Security;

/// <summary>
/// User B cannot follow user A's conversation through any streaming path: the hub and SSE, through Web and directly
/// on a streamer replica; tokens are checked and refreshed; foreign origins and cross-site calls are refused.
/// </summary>
[Collection(StackCollection.Name)]
public class StreamIsolationTests(StackFixture stack)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Another_user_cannot_subscribe_on_the_hub_through_web_with_no_token_their_own_or_the_owners()
    {
        var (conversationId, channel) = await stack.CreateConversationAsync();
        using var bob = await WebSession.SignInAsync(stack.WebUri, "Bob");
        await using var connection = await ConnectThroughWebAsync(bob);

        Assert.Equal(HttpStatusCode.NotFound, (await bob.Http.GetAsync($"/api/conversations/{conversationId}/token")).StatusCode);
        Assert.StartsWith("forbidden:", await SubscribeErrorAsync(connection, channel, null));
        Assert.StartsWith("forbidden:", await SubscribeErrorAsync(connection, channel, "forged.token.value"));
        // Even a leaked token of the owner: it names another user than the connection's.
        var ownersToken = await stack.Session.GetTokenAsync(channel);
        Assert.StartsWith("forbidden:", await SubscribeErrorAsync(connection, channel, ownersToken));
        var presence = await Assert.ThrowsAsync<HubException>(() => connection.InvokeAsync<JsonElement>("GetPresence", channel, ownersToken));
        Assert.StartsWith("forbidden:", HubCode(presence));
    }

    [Fact]
    public async Task Another_user_cannot_subscribe_directly_on_a_streamer_replica()
    {
        var (_, channel) = await stack.CreateConversationAsync();
        // Another test may have just killed and restarted this replica: await it healthy before calling it directly.
        await stack.App.WaitUntilAnsweringAsync(stack.StreamerIds[1]);
        var streamer = stack.App.ReplicaUri(stack.StreamerIds[1]);
        await using var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(streamer, "/hubs/stream"), options =>
            {
                options.Transports = HttpTransportType.WebSockets;
                options.AccessTokenProvider = () => Task.FromResult<string?>(TestAuth.Bearer("dev:mallory").Parameter);
            })
            .Build();
        await connection.StartAsync();

        Assert.StartsWith("forbidden:", await SubscribeErrorAsync(connection, channel, null));
        Assert.StartsWith("forbidden:", await SubscribeErrorAsync(connection, channel, TestAuth.SubscriptionToken("dev:e2e", channel)));
        Assert.StartsWith("forbidden:", await SubscribeErrorAsync(connection, channel, TestAuth.SubscriptionToken("dev:mallory", $"conv:{Guid.NewGuid()}")));
        // Only known namespaces.
        Assert.StartsWith("invalid_channel:", await SubscribeErrorAsync(connection, "admin:secret", TestAuth.SubscriptionToken("dev:mallory", "admin:secret")));

        using var sse = new HttpClient { BaseAddress = streamer };
        using var noToken = await sse.GetAsync($"/sse/{channel}");
        Assert.Equal(HttpStatusCode.Forbidden, noToken.StatusCode);
        Assert.Contains("forbidden", await noToken.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_hub_requires_a_signed_in_user()
    {
        using var anonymous = new HttpClient { BaseAddress = stack.WebUri };
        using var throughWeb = await anonymous.PostAsync("/hubs/stream/negotiate?negotiateVersion=1", null);
        Assert.Equal(HttpStatusCode.Unauthorized, throughWeb.StatusCode);

        using var direct = new HttpClient { BaseAddress = stack.App.ReplicaUri(stack.StreamerIds[0]) };
        using var forged = new HttpRequestMessage(HttpMethod.Post, "/hubs/stream/negotiate?negotiateVersion=1");
        forged.Headers.Authorization = new("Bearer", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.");
        Assert.Equal(HttpStatusCode.Unauthorized, (await direct.SendAsync(forged)).StatusCode);
    }

    [Fact]
    public async Task Sse_refuses_a_missing_foreign_or_expired_token_with_typed_problems()
    {
        var (_, channel) = await stack.CreateConversationAsync();
        using var bob = await WebSession.SignInAsync(stack.WebUri, "Bob");

        using var missing = await bob.Http.GetAsync($"/sse/{channel}");
        Assert.Equal(HttpStatusCode.Forbidden, missing.StatusCode);
        Assert.Equal("forbidden", (await missing.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());

        var expired = TestAuth.SubscriptionTokens.Issue("dev:e2e", "e2e", ChannelName.Parse(channel), DateTimeOffset.UtcNow.AddHours(-1), TimeSpan.FromMinutes(5));
        using var late = await bob.Http.GetAsync($"/sse/{channel}?token={Uri.EscapeDataString(expired.Token)}");
        Assert.Equal(HttpStatusCode.Unauthorized, late.StatusCode);
        Assert.Equal("token_expired", (await late.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
    }

    [Fact]
    public async Task An_expired_token_is_refused_and_a_refreshed_one_resumes_from_the_same_position()
    {
        var (conversationId, channel) = await stack.CreateConversationAsync();
        var messageId = await stack.PostMessageAsync(conversationId, "token refresh");
        var message = await stack.Web.GetFromJsonAsync<JsonElement>($"/api/conversations/{conversationId}/messages/{messageId}");
        var startEpoch = message.GetProperty("epoch").GetString();
        var startOffset = message.GetProperty("startOffset").GetInt64();
        await using var connection = await ConnectThroughWebAsync(stack.Session);

        // Read the first events, then stop, as a client does before its token expires.
        var first = new List<ChannelEvent>();
        using (var cts = new CancellationTokenSource(Patience))
        {
            await foreach (var e in connection.StreamAsync<ChannelEvent>("Subscribe", channel, startOffset - 1, startEpoch, await stack.Session.GetTokenAsync(channel), cts.Token))
            {
                if (e.Type == ChannelEventTypes.Subscribed)
                {
                    continue;
                }
                first.Add(e);
                if (first.Count(x => x.Type == ChannelEventTypes.Delta) >= 3)
                {
                    break;
                }
            }
        }
        var last = first.Last(e => e.Offset > 0);

        var expired = TestAuth.SubscriptionTokens.Issue("dev:e2e", "e2e", ChannelName.Parse(channel), DateTimeOffset.UtcNow.AddHours(-1), TimeSpan.FromMinutes(5));
        Assert.StartsWith("token_expired:", await SubscribeErrorAsync(connection, channel, expired.Token, last.Offset, last.Epoch));

        // A fresh token from the same position: recovered, continuing at the next offset, to the end.
        var offsets = new List<long>();
        using (var cts = new CancellationTokenSource(Patience))
        {
            var fresh = await stack.Session.GetTokenAsync(channel);
            await foreach (var e in connection.StreamAsync<ChannelEvent>("Subscribe", channel, last.Offset, last.Epoch, fresh, cts.Token))
            {
                if (e.Type == ChannelEventTypes.Subscribed)
                {
                    Assert.True(e.Data!.Value.GetProperty("recovered").GetBoolean());
                    continue;
                }
                if (e.Offset > 0)
                {
                    offsets.Add(e.FromOffset ?? e.Offset); // a reader that fell behind gets merged deltas (fromOffset..offset)
                }
                if (e.Type == ChannelEventTypes.MessageCompleted)
                {
                    break;
                }
            }
        }
        Assert.Equal(last.Offset + 1, offsets[0]);
        Assert.Equal(offsets.Order(), offsets);
        Assert.Equal("completed", (await stack.ReadStoredMessageAsync(messageId)).Status);
    }

    [Fact]
    public async Task A_subscription_ends_when_its_token_expires_on_the_hub_and_sse()
    {
        var (_, channel) = await stack.CreateConversationAsync();
        // Expires in 1 s (plus the 5 s clock skew the streamer allows).
        var shortLived = TestAuth.SubscriptionTokens.Issue("dev:e2e", "e2e", ChannelName.Parse(channel), DateTimeOffset.UtcNow.AddSeconds(-59), TimeSpan.FromMinutes(1));
        await using var connection = await ConnectThroughWebAsync(stack.Session);
        using var cts = new CancellationTokenSource(Patience);

        var hub = Task.Run(async () =>
        {
            var started = DateTime.UtcNow;
            ChannelEvent? last = null;
            await foreach (var e in connection.StreamAsync<ChannelEvent>("Subscribe", channel, null, null, shortLived.Token, cts.Token))
            {
                last = e;
            }
            Assert.Equal(ChannelEventTypes.Resubscribe, last?.Type);
            Assert.Equal("token_expired", last!.Data!.Value.GetProperty("reason").GetString());
            return DateTime.UtcNow - started;
        });
        var sse = Task.Run(async () =>
        {
            using var response = await stack.Web.GetAsync(
                $"/sse/{channel}?token={Uri.EscapeDataString(shortLived.Token)}", HttpCompletionOption.ResponseHeadersRead, cts.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            // The server ends the stream after a resubscribe frame that names the reason.
            var text = await response.Content.ReadAsStringAsync(cts.Token);
            Assert.Contains("event: resubscribe", text);
            Assert.Contains("token_expired", text);
        });

        var hubLasted = await hub;
        await sse;
        Assert.InRange(hubLasted, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(20));
        Assert.False(cts.IsCancellationRequested);
    }

    [Fact]
    public async Task Presence_shows_user_names_and_tab_counts_never_connection_ids()
    {
        var (_, channel) = await stack.CreateConversationAsync();
        await using var tab1 = await HubStreamClient.StartAsync(stack.Session, channel);
        await using var tab2 = await HubStreamClient.StartAsync(stack.Session, channel);
        await using var connection = await ConnectThroughWebAsync(stack.Session);

        JsonElement presence = default;
        await Eventually.UntilAsync(async () =>
        {
            presence = await connection.InvokeAsync<JsonElement>("GetPresence", channel, await stack.Session.GetTokenAsync(channel));
            return presence.GetProperty("count").GetInt32() == 2;
        }, Patience, "two watchers in presence");

        var users = presence.GetProperty("users").EnumerateArray().ToList();
        var user = Assert.Single(users);
        Assert.Equal("e2e", user.GetProperty("name").GetString());
        Assert.Equal(2, user.GetProperty("tabs").GetInt32());
        Assert.False(presence.TryGetProperty("clients", out _));
        Assert.DoesNotContain(connection.ConnectionId!, presence.GetRawText());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_foreign_origin_is_refused_on_the_hub_and_sse(bool directlyOnStreamer)
    {
        var (_, channel) = await stack.CreateConversationAsync();
        var baseAddress = directlyOnStreamer ? stack.App.ReplicaUri(stack.StreamerIds[0]) : stack.WebUri;
        var handler = new SocketsHttpHandler { CookieContainer = new CookieContainer() };
        handler.CookieContainer.Add(stack.Session.Cookies.GetAllCookies());
        using var http = new HttpClient(handler) { BaseAddress = baseAddress };

        using var negotiate = new HttpRequestMessage(HttpMethod.Post, "/hubs/stream/negotiate?negotiateVersion=1");
        negotiate.Headers.Add("Origin", "https://evil.example");
        negotiate.Headers.Authorization = TestAuth.Bearer("dev:e2e");
        using var negotiated = await http.SendAsync(negotiate);
        Assert.Equal(HttpStatusCode.Forbidden, negotiated.StatusCode);
        Assert.Contains("forbidden_origin", await negotiated.Content.ReadAsStringAsync());

        using var sse = new HttpRequestMessage(HttpMethod.Get, await stack.SseUrlAsync(channel));
        sse.Headers.Add("Origin", "https://evil.example");
        using var refused = await http.SendAsync(sse, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);

        // The same requests from the page's own origin pass.
        using var own = new HttpRequestMessage(HttpMethod.Post, "/hubs/stream/negotiate?negotiateVersion=1");
        own.Headers.Add("Origin", baseAddress.GetLeftPart(UriPartial.Authority));
        own.Headers.Authorization = TestAuth.Bearer("dev:e2e");
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(own)).StatusCode);
    }

    [Fact]
    public async Task A_cross_site_cancel_or_create_is_refused_even_with_the_cookie()
    {
        var (conversationId, _) = await stack.CreateConversationAsync();
        var messageId = await stack.PostMessageAsync(conversationId, "do not cancel me");
        var handler = new SocketsHttpHandler { CookieContainer = new CookieContainer() };
        handler.CookieContainer.Add(stack.Session.Cookies.GetAllCookies());
        using var browserLike = new HttpClient(handler) { BaseAddress = stack.WebUri };

        // What a form or a no-cors fetch on another site sends: no custom header, a foreign Origin.
        using var cancel = new HttpRequestMessage(HttpMethod.Post, $"/api/conversations/{conversationId}/messages/{messageId}/cancel");
        cancel.Headers.Add("Origin", "https://evil.example");
        using var refused = await browserLike.SendAsync(cancel);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);

        // Even without an Origin header, a simple request lacks X-Requested-With.
        using var create = await browserLike.PostAsync("/api/conversations", null);
        Assert.Equal(HttpStatusCode.Forbidden, create.StatusCode);
        Assert.Equal("csrf", (await create.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());

        var (status, _, _) = await stack.ReadStoredMessageAsync(messageId);
        Assert.NotEqual("cancelled", status);
    }

    [Fact]
    public async Task Every_page_carries_security_headers()
    {
        using var response = await stack.Web.GetAsync("/account/signin");

        Assert.Contains("frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("script-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());
    }

    private async Task<HubConnection> ConnectThroughWebAsync(WebSession session)
    {
        // Through one Web replica directly: a negotiate and its WebSocket must meet the same replica, and Aspire's proxy
        // in front of Web's two has no affinity. Cookies ignore ports, so the session's cookie header is valid there.
        var web = stack.App.ReplicaUri((await stack.App.ReplicaIdsAsync("web"))[0]);
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(web, "/hubs/stream"), options =>
            {
                options.Transports = HttpTransportType.WebSockets;
                options.Headers["Cookie"] = session.Cookies.GetCookieHeader(session.BaseAddress);
            })
            .Build();
        await connection.StartAsync();
        return connection;
    }

    private static async Task<string> SubscribeErrorAsync(
        HubConnection connection, string channel, string? token, long? sinceOffset = null, string? epoch = null)
    {
        var error = await Assert.ThrowsAsync<HubException>(async () =>
        {
            await foreach (var _ in connection.StreamAsync<ChannelEvent>("Subscribe", channel, sinceOffset, epoch, token))
            {
            }
        });
        return HubCode(error);
    }

    // "An unexpected error occurred invoking 'Subscribe' on the server. HubException: {code}: {reason}"
    private static string HubCode(HubException error)
    {
        var message = error.Message;
        var at = message.IndexOf("HubException: ", StringComparison.Ordinal);
        return at >= 0 ? message[(at + "HubException: ".Length)..] : message;
    }
}
