using System.Net;
using System.Net.Http.Json;
using AiStreaming.Channels;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace AiStreaming.Tests.EndToEnd;

/// <summary>The happy path across real processes: Web's proxy → Api → Redis → Streamer → client, and PostgreSQL.</summary>
[Collection(StackCollection.Name)]
public class StreamingTests(StackFixture stack)
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Message_posted_through_web_streams_every_delta_to_a_signalr_client_and_equals_the_stored_text()
    {
        var (conversationId, channel) = await stack.CreateConversationAsync();
        await using var client = await HubStreamClient.StartAsync(stack.Session, channel);

        var messageId = await stack.PostMessageAsync(conversationId, "Explain backpressure in streaming systems");
        await client.Transcript.WaitUntilAsync(t => t.Terminal(messageId) is not null, ReplyTimeout, "the reply to complete");

        var terminal = client.Transcript.Terminal(messageId)!;
        Assert.Equal(ChannelEventTypes.MessageCompleted, terminal.Type);
        var stored = await stack.ReadStoredMessageAsync(messageId);
        Assert.Equal("completed", stored.Status);
        Assert.NotEmpty(stored.Content);
        Assert.Equal(stored.Content, client.Transcript.Text(messageId));
        Assert.Equal(stored.Content, terminal.Data!.Value.GetProperty("text").GetString());
        Assert.Empty(client.Transcript.Anomalies);
        Assert.True(client.Transcript.Offsets.Count > 10, "expected the reply to arrive in many deltas");
    }

    [Fact]
    public async Task A_client_joining_mid_stream_replays_the_reply_from_its_start()
    {
        var (conversationId, channel) = await stack.CreateConversationAsync();
        await using var first = await HubStreamClient.StartAsync(stack.Session, channel);
        var messageId = await stack.PostMessageAsync(conversationId, "Tell me about epochs and offsets");
        await first.Transcript.WaitUntilAsync(t => t.TextLength(messageId) > 50, ReplyTimeout, "the reply to be under way");

        // Like a second tab: read the message's start position from the Api and subscribe from just before it.
        var message = await stack.Web.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/conversations/{conversationId}/messages/{messageId}");
        var epoch = message.GetProperty("epoch").GetString()!;
        var startOffset = message.GetProperty("startOffset").GetInt64();
        await using var late = await HubStreamClient.StartAsync(stack.Session, channel, startOffset - 1, epoch);

        await late.Transcript.WaitUntilAsync(t => t.Terminal(messageId) is not null, ReplyTimeout, "the late client to see the end");
        Assert.True(late.Transcript.Subscriptions[0].Recovered);
        var stored = await stack.ReadStoredMessageAsync(messageId);
        Assert.Equal(stored.Content, late.Transcript.Text(messageId));
        Assert.Empty(late.Transcript.Anomalies);
    }

    [Fact]
    public async Task Hub_rejects_an_invalid_channel_with_a_typed_error()
    {
        await using var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(stack.WebUri, "/hubs/stream"), options =>
            {
                // As the page connects: WebSockets without negotiate (a negotiate and its transport could meet different
                // replicas behind Aspire's proxy, which has no affinity).
                options.Cookies = stack.Session.Cookies;
                options.Transports = HttpTransportType.WebSockets;
                options.SkipNegotiation = true;
            })
            .Build();
        await connection.StartAsync();

        var error = await Assert.ThrowsAsync<HubException>(async () =>
        {
            await foreach (var _ in connection.StreamAsync<ChannelEvent>("Subscribe", "not a channel", null, null, null))
            {
            }
        });
        Assert.Contains("invalid_channel:", error.Message);
    }

    [Fact]
    public async Task Sse_serves_an_event_stream_and_resumes_from_Last_Event_ID()
    {
        var (conversationId, channel) = await stack.CreateConversationAsync();
        await using var sse = await SseStreamClient.StartAsync(stack.Session, channel);
        var messageId = await stack.PostMessageAsync(conversationId, "What is SSE?");
        await sse.Transcript.WaitUntilAsync(t => t.Terminal(messageId) is not null, ReplyTimeout, "the SSE reply to complete");
        var stored = await stack.ReadStoredMessageAsync(messageId);
        Assert.Equal(stored.Content, sse.Transcript.Text(messageId));
        Assert.Empty(sse.Transcript.Anomalies);

        // Resume from the middle of the reply with Last-Event-ID: the rest is replayed, first frame says recovered.
        var (epoch, top) = sse.Transcript.Position;
        using var request = new HttpRequestMessage(HttpMethod.Get, await stack.SseUrlAsync(channel));
        request.Headers.Add("Last-Event-ID", $"{epoch}:{top - 3}");
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var response = await stack.Web.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("no-cache", response.Headers.CacheControl?.ToString());
        var ids = new List<string>();
        await using var body = await response.Content.ReadAsStreamAsync(cts.Token);
        var parser = System.Net.ServerSentEvents.SseParser.Create(body);
        await foreach (var item in parser.EnumerateAsync(cts.Token))
        {
            if (item.EventType == ChannelEventTypes.Subscribed)
            {
                Assert.Contains("\"recovered\":true", item.Data);
            }
            ids.Add(item.EventId ?? "");
            if (ids.Count == 4)
            {
                break;
            }
        }
        Assert.Equal([$"{epoch}:{top - 3}", $"{epoch}:{top - 2}", $"{epoch}:{top - 1}", $"{epoch}:{top}"], ids);
    }

    [Fact]
    public async Task Sse_sends_heartbeat_frames_through_the_proxy_while_the_channel_is_idle()
    {
        var (_, channel) = await stack.CreateConversationAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var response = await stack.Web.GetAsync(await stack.SseUrlAsync(channel), HttpCompletionOption.ResponseHeadersRead, cts.Token);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));

        var lines = new List<string>();
        while (await reader.ReadLineAsync(cts.Token) is { } line)
        {
            lines.Add(line);
            if (lines.Count(l => l == "event: heartbeat") == 2)
            {
                break; // two heartbeats arrived unbuffered through Web's proxy
            }
        }

        Assert.Equal("no", response.Headers.GetValues("X-Accel-Buffering").Single());
        Assert.Contains("retry: 250", lines);
        Assert.Contains("event: subscribed", lines);
    }

    [Fact]
    public async Task Sse_rejects_a_malformed_Last_Event_ID_with_problem_details()
    {
        var (_, channel) = await stack.CreateConversationAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, await stack.SseUrlAsync(channel));
        request.Headers.Add("Last-Event-ID", "garbage");

        using var response = await stack.Web.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("invalid_position", await response.Content.ReadAsStringAsync());
    }
}
