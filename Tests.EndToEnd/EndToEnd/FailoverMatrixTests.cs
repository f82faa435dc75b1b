using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AiStreaming.Channels;
using AiStreaming.Tests.Aspire;
using AiStreaming.Tests.Browser;
using AiStreaming.Tests.Infrastructure;
using Aspire.Hosting.ApplicationModel;
using Npgsql;
using Xunit.Abstractions;

namespace AiStreaming.Tests.EndToEnd;

/// <summary>
/// Each fault × each kind of client (<see cref="ClientKind"/>), all through Web and Aspire's proxies: a streamer
/// replica's server killed, Redis stopped and started, the Api replica running the reply killed, and a rolling restart
/// of every replica. Every client must end with the stored text, each offset once and in order; a post the proxy
/// answers 502–504 while an Api replica is away is sent again with its <c>Idempotency-Key</c> and must then succeed.
/// The pause from a kill to the client's next event is written to the test output (targets and figures:
/// docs/BENCHMARKS.md, never asserted here).
/// </summary>
[Collection(StackCollection.Name)]
public class FailoverMatrixTests(StackFixture stack, BrowserFixture browser, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(90);
    private int _postsRetried;

    /// <summary>Every client kind.</summary>
    public static TheoryData<ClientKind> Kinds => new(Enum.GetValues<ClientKind>());

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Killing_the_serving_streamer_replica_mid_reply_fails_over_with_every_offset_once(ClientKind kind)
    {
        var (conversationId, channel) = await stack.CreateConversationAsync();
        await using var client = await StreamClient.StartAsync(kind, stack, browser.Browser, channel);
        var messageId = await stack.PostMessageAsync(conversationId, "Describe how a client fails over to another replica");
        await client.Transcript.WaitUntilAsync(t => t.TextLength(messageId) > 40, ReplyTimeout, "the reply to be under way");

        var killed = stack.StreamerReplicaOf(client.Transcript.CurrentNode);
        var killedAt = DateTime.UtcNow;
        await stack.KillAsync(stack.StreamerIds[killed]);
        try
        {
            await WaitForEndAsync(client, messageId, "the reply to complete after failover");
            output.WriteLine($"{kind}: pause from kill to next event {PauseMs(client, killedAt)} ms");
            Assert.False(client.GaveUp, $"{kind} stopped reconnecting");
            Assert.NotEqual(killed, stack.StreamerReplicaOf(client.Transcript.CurrentNode));
            await AssertEndedWithStoredTextAsync(client, messageId, "completed");
        }
        finally
        {
            await stack.StartAsync(stack.StreamerIds[killed]);
        }
    }

    [Fact]
    public async Task A_redis_outage_mid_reply_is_shown_to_every_client_kind_and_ends_with_the_stored_text()
    {
        var (conversationId, channel) = await stack.CreateConversationAsync();
        var clients = await StartEveryKindAsync(channel);
        try
        {
            var messageId = await stack.PostMessageAsync(conversationId, "What do subscribers see while Redis is away?");
            await clients[0].Transcript.WaitUntilAsync(t => t.TextLength(messageId) > 40, ReplyTimeout, "the reply to be under way");

            var stoppedAt = DateTime.UtcNow;
            await stack.StopRedisAsync();
            try
            {
                // Every kind is told (the `reconnecting` frame; the target of 2 s is measured, not asserted). Redis
                // comes back once all were (it keeps no data: a new epoch follows).
                var told = new Dictionary<ClientKind, long>();
                await Eventually.UntilAsync(() =>
                {
                    foreach (var client in clients.Where(c => c.ReconnectingFrames > 0 && !told.ContainsKey(c.Kind)))
                    {
                        told[client.Kind] = (long)(DateTime.UtcNow - stoppedAt).TotalMilliseconds;
                    }
                    return told.Count == clients.Count;
                }, TimeSpan.FromSeconds(15), "every client kind to be told the stream is reconnecting: told only "
                    + string.Join(", ", clients.Where(c => c.ReconnectingFrames > 0).Select(c => c.Kind)));
                foreach (var (kind, ms) in told)
                {
                    output.WriteLine($"{kind}: reconnecting {ms} ms after Redis stopped");
                }
            }
            finally
            {
                await stack.StartRedisAsync();
            }
            output.WriteLine($"Redis stopped at {stoppedAt:HH:mm:ss.fff}, started at {DateTime.UtcNow:HH:mm:ss.fff}");
            foreach (var client in clients)
            {
                await WaitForEndAsync(client, messageId, "the reply's end after the outage");
                Assert.False(client.GaveUp, $"{client.Kind} stopped reconnecting");
                await AssertEndedWithStoredTextAsync(client, messageId, "completed");
            }
        }
        finally
        {
            await DisposeAllAsync(clients);
        }
    }

    [Fact]
    public async Task Killing_the_api_replica_running_the_reply_has_the_other_replica_complete_it_without_a_restart()
    {
        var (conversationId, channel) = await stack.CreateConversationAsync();
        var clients = await StartEveryKindAsync(channel);
        string? killed = null;
        try
        {
            var messageId = await stack.PostMessageAsync(conversationId, "Write a long essay about leases");
            await clients[0].Transcript.WaitUntilAsync(t => t.TextLength(messageId) > 40, ReplyTimeout, "the reply to be under way");

            killed = await ApiReplicaRunningAsync(messageId);
            await stack.KillAsync(killed);
            foreach (var client in clients)
            {
                // The other Api replica takes the reply over once the lease lapses and completes it: nobody restarts anything.
                await WaitForEndAsync(client, messageId, "message.completed from the surviving Api");
                Assert.False(client.GaveUp, $"{client.Kind} stopped reconnecting");
                await AssertEndedWithStoredTextAsync(client, messageId, "completed");
            }

            // The proxy may still send a post to the killed replica (502): sent again with its key, it is taken once.
            var key = Guid.NewGuid().ToString("N");
            var next = await PostWithRetryAsync(conversationId, "Are you still there?", key);
            // As a client whose answer was lost on the way sends it again: the same reply, nothing stored twice.
            Assert.Equal(next, await PostWithRetryAsync(conversationId, "Are you still there?", key));
            foreach (var client in clients)
            {
                await WaitForEndAsync(client, next, "the reply to the post sent while an Api replica is down");
                await AssertEndedWithStoredTextAsync(client, next, "completed");
            }
            await AssertOneReplyPerPostAsync(conversationId, 2);
        }
        finally
        {
            if (killed is not null)
            {
                await stack.StartAsync(killed);
            }
            await DisposeAllAsync(clients);
        }
    }

    [Fact]
    public async Task A_rolling_restart_of_every_replica_during_50_streaming_conversations_loses_nothing()
    {
        const int conversations = 50;
        var kinds = Enum.GetValues<ClientKind>();
        var sessions = new List<(Guid Id, StreamClient Client, List<Guid> Messages)>();
        try
        {
            for (var i = 0; i < conversations; i++)
            {
                // Five browser EventSources (each its own browser context: Chromium allows six connections per origin).
                var kind = i < 5 ? ClientKind.BrowserEventSource : kinds[i % (kinds.Length - 1)];
                var (id, channel) = await stack.CreateConversationAsync();
                sessions.Add((id, await StreamClient.StartAsync(kind, stack, browser.Browser, channel), []));
            }

            // Each conversation keeps a reply streaming (posting the next when one ends) until the restart is over.
            using var rolling = new CancellationTokenSource();
            var chatters = sessions.Select(s => Task.Run(() => ChatUntilAsync(s.Id, s.Client, s.Messages, rolling.Token))).ToList();
            // Every conversation has a reply streaming before the first replica goes.
            foreach (var (_, client, messages) in sessions)
            {
                try
                {
                    await client.Transcript.WaitUntilAsync(t => messages.Count > 0 && t.TextLength(messages[0]) > 0, ReplyTimeout, "a reply under way");
                }
                catch (TimeoutException ex) when (messages.Count > 0)
                {
                    throw new TimeoutException($"{client.Kind}: {ex.Message} " + await DescribeServersAsync(messages[0]), ex);
                }
            }
            foreach (var replica in stack.StreamerIds.Concat(stack.ApiIds))
            {
                var before = stack.ProcessIdOf(replica);
                await stack.CommandAsync(replica, KnownResourceCommands.RestartCommand);
                // Healthy as a new process: right after the command the snapshot may still be the old one's.
                await stack.App.WaitForReplicaAsync(replica, s => ReplicaExtensions.IsHealthy(s) && stack.ProcessIdOf(replica) is { } pid && pid != before);
                output.WriteLine($"{replica} restarted at {DateTime.UtcNow:HH:mm:ss.fff}");
            }
            await rolling.CancelAsync();
            await Task.WhenAll(chatters);

            foreach (var (id, client, messages) in sessions)
            {
                Assert.NotEmpty(messages);
                await AssertOneReplyPerPostAsync(id, messages.Count);
                foreach (var messageId in messages)
                {
                    await WaitForEndAsync(client, messageId, "every reply to end after the rolling restart");
                    await AssertEndedWithStoredTextAsync(client, messageId, "completed");
                }
                Assert.False(client.GaveUp, $"{client.Kind} stopped reconnecting");
            }
            output.WriteLine($"{sessions.Sum(s => s.Messages.Count)} replies over {conversations} conversations; {_postsRetried} posts answered 502-504 and sent again");
        }
        finally
        {
            await DisposeAllAsync(sessions.Select(s => s.Client));
        }
    }

    private async Task ChatUntilAsync(Guid conversationId, StreamClient client, List<Guid> messages, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var messageId = await PostWithRetryAsync(conversationId, $"Reply number {messages.Count + 1}, please");
            messages.Add(messageId);
            await WaitForEndAsync(client, messageId, "a reply during the rolling restart");
        }
    }

    /// <summary>
    /// Posts as the page does: one Idempotency-Key, sent again while the proxy answers 502–504 (an Api replica is
    /// killed, drains or restarts). Fails unless it is accepted within 20 attempts. A new key unless one is given.
    /// </summary>
    private async Task<Guid> PostWithRetryAsync(Guid conversationId, string content, string? idempotencyKey = null)
    {
        var key = idempotencyKey ?? Guid.NewGuid().ToString("N");
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/conversations/{conversationId}/messages")
            {
                Content = JsonContent.Create(new { content }),
            };
            request.Headers.Add("Idempotency-Key", key);
            request.Headers.Add("X-Requested-With", "XMLHttpRequest");
            using var response = await stack.Web.SendAsync(request);
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("messageId").GetGuid();
            }
            Assert.True(attempt < 20 && (int)response.StatusCode is 502 or 503 or 504,
                $"post answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            Interlocked.Increment(ref _postsRetried);
            await Task.Delay(250);
        }
    }

    private async Task<List<StreamClient>> StartEveryKindAsync(string channel)
    {
        var clients = new List<StreamClient>();
        foreach (var kind in Enum.GetValues<ClientKind>())
        {
            clients.Add(await StreamClient.StartAsync(kind, stack, browser.Browser, channel));
        }
        return clients;
    }

    private static async Task DisposeAllAsync(IEnumerable<StreamClient> clients)
    {
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    private async Task WaitForEndAsync(StreamClient client, Guid messageId, string what)
    {
        try
        {
            await client.Transcript.WaitUntilAsync(t => t.Terminal(messageId) is not null, ReplyTimeout, what);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{client.Kind} (reconnecting now: {client.IsReconnecting}): {ex.Message} " + await DescribeServersAsync(messageId));
        }
    }

    private async Task AssertEndedWithStoredTextAsync(StreamClient client, Guid messageId, string status)
    {
        var stored = await stack.ReadStoredMessageAsync(messageId);
        if (stored.Status != status)
        {
            Assert.Fail($"{client.Kind}: the reply was stored {stored.Status} ({stored.ErrorCode}), not {status}.\n"
                + await DescribeServersAsync(messageId));
        }
        Assert.True(client.Transcript.Anomalies.Count == 0, $"{client.Kind}: {string.Join("; ", client.Transcript.Anomalies)}");
        var terminal = client.Transcript.Terminal(messageId)!;
        var terminalText = terminal.Data!.Value.GetProperty("text").GetString();
        if (terminalText != stored.Content)
        {
            Assert.Fail($"{client.Kind}: the terminal event's text ({terminalText?.Length} chars, resyncs {client.Transcript.Resyncs}) "
                + $"is not the stored text ({stored.Content.Length} chars).\nTerminal: {terminalText}\nStored: {stored.Content}\n"
                + $"{client.Transcript.Describe()}\n"
                + await DescribeServersAsync(messageId));
        }
        if (client.Transcript.Resyncs == 0 && status == "completed")
        {
            // Every delta came over the channel: their concatenation is the stored text. (A reply failed with
            // generation_lost stores its last checkpoint, which can be shorter than what was streamed.) After an
            // unrecovered subscription (Redis lost the channel: a new epoch) the client is told recovered=false and
            // the terminal event carries the text; what it received since then is still the stored text's tail.
            var (text, afterFresh) = client.Transcript.TextSinceFresh(messageId);
            if (afterFresh)
            {
                Assert.True(stored.Content.EndsWith(text, StringComparison.Ordinal),
                    $"{client.Kind}: the deltas after the unrecovered subscription are not the stored text's tail: [{text}] vs [{stored.Content}]");
            }
            else
            {
                Assert.Equal(stored.Content, text);
            }
        }
    }

    private static long PauseMs(StreamClient client, DateTime since) =>
        client.Transcript.FirstEventAfter(since) is { } next ? (long)(next - since).TotalMilliseconds : -1;

    /// <summary>The Api replica id whose server process owns the streaming message (its owner id ends <c>:{pid}:{random}</c>).</summary>
    private async Task<string> ApiReplicaRunningAsync(Guid messageId)
    {
        await using var connection = new NpgsqlConnection(stack.MessagesConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select owner_id from messages where id = @id", connection);
        command.Parameters.AddWithValue("id", messageId);
        var owner = (string)(await command.ExecuteScalarAsync())!;
        var parts = owner.Split(':');
        var pid = int.Parse(parts[^2]);
        return stack.ApiIds.Single(id => stack.ProcessIdOf(id) == pid);
    }

    /// <summary>Each post, retried or not, stored one user message and one reply: a retry with the same key added nothing.</summary>
    private async Task AssertOneReplyPerPostAsync(Guid conversationId, int posts)
    {
        await using var connection = new NpgsqlConnection(stack.MessagesConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "select role, count(*) from messages where conversation_id = @id group by role order by role", connection);
        command.Parameters.AddWithValue("id", conversationId);
        var counts = new Dictionary<string, long>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }
        Assert.Equal(posts, counts.GetValueOrDefault("user"));
        Assert.Equal(posts, counts.GetValueOrDefault("assistant"));
    }

    // What the servers hold for the message's conversation (StackFixture.DescribeAsync), for failure messages.
    private async Task<string> DescribeServersAsync(Guid messageId)
    {
        await using var connection = new NpgsqlConnection(stack.MessagesConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select conversation_id from messages where id = @id", connection);
        command.Parameters.AddWithValue("id", messageId);
        var conversationId = (Guid)(await command.ExecuteScalarAsync())!;
        return await stack.DescribeAsync(ChannelName.ForConversation(conversationId).Value, messageId);
    }
}
