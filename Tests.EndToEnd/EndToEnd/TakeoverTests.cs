using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AiStreaming.Channels;
using AiStreaming.Tests.Aspire;
using AiStreaming.Tests.Browser;
using AiStreaming.Tests.Infrastructure;
using Aspire.Hosting.Testing;
using Npgsql;
using Xunit.Abstractions;

namespace AiStreaming.Tests.EndToEnd;

/// <summary>
/// A reply survives its Api: the Api replica running a reply is killed (SIGKILL) at a random point, 20 times in a row on
/// one stack, while a client of every kind (<see cref="ClientKind"/>) watches through Web. Each time the other replica
/// takes the reply over and continues it: every client ends with <c>message.completed</c>, every offset once and in
/// order, a final text that starts with everything it had received before the kill, and the stored message equals that
/// text. The killed replica is started again in the background, ready before the next kill. The pause from each kill
/// to each client's next delta is written to the test output (docs/BENCHMARKS.md, "Takeover"; not asserted).
/// </summary>
[Collection(StackCollection.Name)]
public class TakeoverTests(StackFixture stack, BrowserFixture browser, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    private const int Kills = 20;
    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Killing_the_api_replica_running_the_reply_20_times_in_a_row_every_client_kind_gets_the_whole_reply()
    {
        var seed = Environment.TickCount;
        var random = new Random(seed);
        output.WriteLine($"Random seed {seed}");
        var (conversationId, channel) = await stack.CreateConversationAsync();
        var clients = new List<StreamClient>();
        foreach (var kind in Enum.GetValues<ClientKind>())
        {
            clients.Add(await StreamClient.StartAsync(kind, stack, browser.Browser, channel));
        }
        var pauses = new List<long>();
        var restart = Task.CompletedTask;
        try
        {
            for (var kill = 1; kill <= Kills; kill++)
            {
                // Both replicas run again before the next reply: the one that dies always has a survivor.
                await restart;
                var messageId = await PostWithRetryAsync(conversationId, $"Reply {kill}: how does a reply survive its server?");
                // A random point of the reply (180–260 tokens, some 800 to 1400 characters): from its first characters to well into it.
                var killAfterChars = random.Next(1, 700);
                await clients[0].Transcript.WaitUntilAsync(
                    t => t.TextLength(messageId) >= killAfterChars || t.Terminal(messageId) is not null, ReplyTimeout, "the reply to be under way");
                if (clients[0].Transcript.Terminal(messageId) is not null)
                {
                    kill--; // a reply shorter than the point drawn: draw again on the next one
                    continue;
                }

                var owner = await ApiReplicaRunningAsync(messageId);
                var killedAt = DateTime.UtcNow;
                var claimed = ClaimAsync(messageId, killedAt);
                await stack.KillAsync(owner);
                restart = stack.StartAsync(owner);
                // Everything each client had when the killed process was gone (nothing it published can still arrive).
                var before = clients.Select(c => c.Transcript.Text(messageId)).ToList();
                var next = await Task.WhenAll(clients.Select(async (c, i) =>
                {
                    await c.Transcript.WaitUntilAsync(t => t.TextLength(messageId) > before[i].Length || t.Terminal(messageId) is not null,
                        ReplyTimeout, $"{c.Kind}: the next delta after the kill");
                    return (long)(DateTime.UtcNow - killedAt).TotalMilliseconds;
                }));
                pauses.AddRange(next);
                var (claimer, claimMs) = await claimed;
                output.WriteLine($"Kill {kill}: {owner} after {before[0].Length} chars; claimed by {claimer} after {claimMs} ms; next delta after "
                    + string.Join(", ", clients.Select((c, i) => $"{c.Kind} {next[i]} ms")));

                var stored = await WaitForStoredEndAsync(messageId, channel);
                Assert.True(stored.Status == "completed", $"Kill {kill}: stored {stored.Status} ({stored.ErrorCode}). " + await stack.DescribeAsync(channel, messageId));
                for (var i = 0; i < clients.Count; i++)
                {
                    var client = clients[i];
                    await client.Transcript.WaitUntilAsync(t => t.Terminal(messageId) is not null, ReplyTimeout, $"{client.Kind}: the end of reply {kill}");
                    var terminal = client.Transcript.Terminal(messageId)!;
                    Assert.Equal(ChannelEventTypes.MessageCompleted, terminal.Type);
                    var final = terminal.Data!.Value.GetProperty("text").GetString()!;
                    Assert.Equal(stored.Content, final);
                    Assert.Equal(final, client.Transcript.Text(messageId));
                    Assert.True(final.StartsWith(before[i], StringComparison.Ordinal),
                        $"Kill {kill}, {client.Kind}: the final text does not start with the {before[i].Length} characters received before the kill");
                    Assert.True(client.Transcript.Anomalies.Count == 0, $"{client.Kind}: {string.Join("; ", client.Transcript.Anomalies)}");
                    Assert.False(client.GaveUp, $"{client.Kind} stopped reconnecting");
                }
            }

            foreach (var client in clients)
            {
                var offsets = client.Transcript.Offsets;
                Assert.Equal(Enumerable.Range((int)offsets[0], offsets.Count).Select(o => (long)o), offsets);
            }
            pauses.Sort();
            output.WriteLine($"Pause from kill to next delta over {pauses.Count} client deliveries ({Kills} kills): "
                + $"p50 {pauses[pauses.Count / 2]} ms, p90 {pauses[pauses.Count * 9 / 10]} ms, max {pauses[^1]} ms");
        }
        finally
        {
            await restart;
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_frozen_api_replica_thawed_after_its_reply_was_taken_over_can_no_longer_publish_or_store_it()
    {
        var (conversationId, channel) = await stack.CreateConversationAsync();
        await using var hub = await StreamClient.StartAsync(ClientKind.SignalRJson, stack, browser.Browser, channel);
        await using var sse = await StreamClient.StartAsync(ClientKind.Sse, stack, browser.Browser, channel);
        var messageId = await PostWithRetryAsync(conversationId, "Go on while your server is frozen");
        await hub.Transcript.WaitUntilAsync(t => t.TextLength(messageId) > 100, ReplyTimeout, "the reply to be under way");

        var owner = await ApiReplicaRunningAsync(messageId);
        var pid = stack.ProcessIdOf(owner)!.Value;
        var frozenAt = DateTime.UtcNow;
        await SignalAsync("STOP", pid);
        string before;
        try
        {
            var (claimer, claimMs) = await ClaimAsync(messageId, frozenAt);
            Assert.NotEqual(owner, claimer);
            before = hub.Transcript.Text(messageId);
            await hub.Transcript.WaitUntilAsync(t => t.TextLength(messageId) > before.Length, ReplyTimeout, "the next delta from the replica that took over");
            output.WriteLine($"{owner} frozen; claimed by {claimer} after {claimMs} ms");
        }
        finally
        {
            await SignalAsync("CONT", pid);
        }

        // Thawed, the old run goes on where it was frozen: its publishes are refused and its writes match nothing.
        await Eventually.UntilAsync(
            async () => (await stack.App.GetLogsAsync(owner)).Any(l => l.Contains(messageId.ToString(), StringComparison.Ordinal)
                && (l.Contains("refused", StringComparison.Ordinal) || l.Contains("no longer owns", StringComparison.Ordinal) || l.Contains("fenced out", StringComparison.Ordinal))),
            ReplyTimeout, $"{owner} to find itself fenced out of {messageId}");
        var stored = await WaitForStoredEndAsync(messageId, channel);
        Assert.Equal("completed", stored.Status);
        foreach (var client in new[] { hub, sse })
        {
            await client.Transcript.WaitUntilAsync(t => t.Terminal(messageId) is not null, ReplyTimeout, $"{client.Kind}: the end of the reply");
            Assert.Equal(ChannelEventTypes.MessageCompleted, client.Transcript.Terminal(messageId)!.Type);
            Assert.Equal(stored.Content, client.Transcript.Text(messageId));
            Assert.True(client.Transcript.Anomalies.Count == 0, $"{client.Kind}: {string.Join("; ", client.Transcript.Anomalies)}");
        }
        Assert.StartsWith(before, stored.Content);
        // Nothing of the old run reached the channel after the takeover: the history's deltas are exactly the stored text.
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync((await stack.App.GetConnectionStringAsync("redis"))!);
        var history = (await redis.GetDatabase().StreamRangeAsync(ChannelName.Parse(channel).StreamKey))
            .Select(entry => ChannelEvent.Parse((string)entry["e"]!)).Where(e => e.MessageId == messageId).ToList();
        Assert.Equal(stored.Content, string.Concat(history.Where(e => e.Type == ChannelEventTypes.Delta).Select(e => e.DeltaText)));
        Assert.Single(history, e => e.Type == ChannelEventTypes.MessageResumed);
    }

    private static async Task SignalAsync(string signal, int pid)
    {
        using var kill = System.Diagnostics.Process.Start("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    // Posts as the page does: one Idempotency-Key, sent again while the proxy answers 502–504.
    private async Task<Guid> PostWithRetryAsync(Guid conversationId, string content)
    {
        var key = Guid.NewGuid().ToString("N");
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
            await Task.Delay(250);
        }
    }

    private async Task<(string Status, string Content, string? ErrorCode)> WaitForStoredEndAsync(Guid messageId, string channel)
    {
        var stored = await stack.ReadStoredMessageAsync(messageId);
        try
        {
            await Eventually.UntilAsync(
                async () => (stored = await stack.ReadStoredMessageAsync(messageId)).Status != "streaming", ReplyTimeout, "the reply to be stored");
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(ex.Message + " " + await stack.DescribeAsync(channel, messageId), ex);
        }
        return stored;
    }

    /// <summary>Which replica claimed the reply (the owner id's replica) and how long after <paramref name="killedAt"/>.</summary>
    private async Task<(string Replica, long Ms)> ClaimAsync(Guid messageId, DateTime killedAt)
    {
        await using var connection = new NpgsqlConnection(stack.MessagesConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select coalesce(owner_id, '') from messages where id = @id and takeovers > 0", connection);
        command.Parameters.AddWithValue("id", messageId);
        string? owner = null;
        await Eventually.UntilAsync(
            async () => (owner = (string?)await command.ExecuteScalarAsync()) is not null, ReplyTimeout, "the reply to be claimed");
        return (owner!.Split(':')[0], (long)(DateTime.UtcNow - killedAt).TotalMilliseconds);
    }

    /// <summary>The Api replica whose server process owns the streaming message (owner id <c>{replica}:{pid}:{random}</c>, <c>#n</c> after a takeover).</summary>
    private async Task<string> ApiReplicaRunningAsync(Guid messageId)
    {
        await using var connection = new NpgsqlConnection(stack.MessagesConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select owner_id from messages where id = @id", connection);
        command.Parameters.AddWithValue("id", messageId);
        var owner = (string)(await command.ExecuteScalarAsync())!;
        var pid = int.Parse(owner.Split(':')[^2]);
        return stack.ApiIds.Single(id => stack.ProcessIdOf(id) == pid);
    }
}
