using System.Net.Http.Json;
using System.Text.Json;
using AiStreaming.AppHost.LocalServers;
using AiStreaming.Tests.Aspire;
using AiStreaming.Tests.Infrastructure;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Npgsql;

namespace AiStreaming.Tests.EndToEnd;

/// <summary>
/// The whole stack as real processes under DCP (Redis, PostgreSQL, Api ×2, Streamer ×2, Web), composed by the AppHost's
/// own <c>Program.cs</c> through Aspire.Hosting.Testing's <see cref="DistributedApplicationTestingBuilder"/>, once per
/// collection. Clients reach Web through Aspire's proxy. Tests that stop or kill a resource start it again before they end.
/// </summary>
public sealed class StackFixture : IAsyncLifetime
{
    private DistributedApplication? _app;

    /// <summary>The running application.</summary>
    public DistributedApplication App => _app ?? throw new InvalidOperationException("Not started.");

    /// <summary>Web's address: the single origin clients use (it proxies /api, /hubs and /sse).</summary>
    public Uri WebUri { get; private set; } = null!;

    /// <summary>An HTTP client for Web, signed in as <see cref="Session"/>'s user.</summary>
    public HttpClient Web => Session.Http;

    /// <summary>The default signed-in session of the tests (user "e2e").</summary>
    public WebSession Session { get; private set; } = null!;

    /// <summary>Whether the stack runs a Redis Cluster (<c>AISTREAMING_REDIS_CLUSTER=1</c>; live events then take sharded pub/sub).</summary>
    public bool IsRedisCluster { get; private set; }

    /// <summary>Npgsql connection string of the messages database.</summary>
    public string MessagesConnectionString { get; private set; } = "";

    /// <summary>The streamer replicas' resource ids (<c>streamer-abcd1234</c>), in a stable order.</summary>
    public IReadOnlyList<string> StreamerIds { get; private set; } = [];

    /// <summary>The Api replicas' resource ids, in a stable order.</summary>
    public IReadOnlyList<string> ApiIds { get; private set; } = [];

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        // A key the tests know, so they can call the Api and the streamers directly and forge tokens.
        var builder = await TestAppHost.CreateAsync(cts.Token, $"--Parameters:auth-signing-key={TestAuth.SigningKey}");
        builder.CreateResourceBuilder<ProjectResource>("api")
            // Replies long enough (≈3–5 s) to act mid-stream, short enough to keep the suite quick.
            .WithEnvironment("SimulatedModel__TokensPerSecond", "60")
            .WithEnvironment("SimulatedModel__TimeToFirstToken", "00:00:00.200")
            .WithEnvironment("SimulatedModel__MinTokens", "180")
            .WithEnvironment("SimulatedModel__MaxTokens", "260")
            // The suite posts as one user much faster than a person: the limits have their own tests.
            .WithEnvironment("Limits__PostsPerMinute", "100000")
            .WithEnvironment("Limits__MaxConcurrentGenerations", "1000");
        builder.CreateResourceBuilder<ProjectResource>("streamer")
            // Heartbeats every second instead of 15 s, so a test can see them without waiting.
            .WithEnvironment("Streamer__SseHeartbeatInterval", "00:00:01")
            // The fault tests hold tens of connections of one user, all on one replica while the other restarts.
            .WithEnvironment("StreamerSecurity__MaxConnectionsPerUser", "1000")
            .WithEnvironment("StreamerSecurity__MaxSubscriptionsPerUser", "1000");
        foreach (var project in builder.Resources.OfType<ProjectResource>())
        {
            // The testing builder runs no dashboard, yet points OTLP at one: exporting to nobody, each service would
            // spend 10 s retrying its last batch when it stops, past DCP's patience. No endpoint: no exporter.
            builder.CreateResourceBuilder(project).WithEnvironment("OTEL_EXPORTER_OTLP_ENDPOINT", "");
        }
        IsRedisCluster = LocalRedis.IsClusterRequested(builder);
        var redisServers = builder.Resources.OfType<RedisServerResource>().Select(r => r.Name).ToList();
        _app = await builder.BuildAsync(cts.Token);
        await _app.StartAsync(cts.Token);
        await _app.ResourceNotifications.WaitForResourceHealthyAsync("web", cts.Token);
        StreamerIds = await _app.ReplicaIdsAsync("streamer", cts.Token);
        ApiIds = await _app.ReplicaIdsAsync("api", cts.Token);
        RedisNodes = [.. (await Task.WhenAll(redisServers.Select(name => _app.ReplicaIdsAsync(name, cts.Token)))).SelectMany(ids => ids)];
        WebUri = _app.GetEndpoint("web");
        Session = await WebSession.SignInAsync(WebUri, "e2e");
        MessagesConnectionString = (await _app.GetConnectionStringAsync("messages", cts.Token))!;
    }

    public async Task DisposeAsync()
    {
        Session?.Dispose();
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    /// <summary>Creates a conversation through Web's proxy; returns its id and channel.</summary>
    public async Task<(Guid Id, string Channel)> CreateConversationAsync()
    {
        var response = await Web.PostAsJsonAsync("/api/conversations", new { title = "e2e" });
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = body.GetProperty("id").GetGuid();
        return (id, $"conv:{id:D}");
    }

    /// <summary>The SSE URL of <paramref name="channel"/> with a subscription token of <see cref="Session"/>'s user.</summary>
    public async Task<string> SseUrlAsync(string channel) =>
        $"/sse/{channel}?token={Uri.EscapeDataString(await Session.GetTokenAsync(channel))}";

    /// <summary>Posts a user message through Web's proxy; returns the assistant message id.</summary>
    public async Task<Guid> PostMessageAsync(Guid conversationId, string content)
    {
        var response = await Web.PostAsJsonAsync($"/api/conversations/{conversationId}/messages", new { content });
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("messageId").GetGuid();
    }

    /// <summary>Reads an assistant message straight from PostgreSQL: (status, content, error code).</summary>
    public async Task<(string Status, string Content, string? ErrorCode)> ReadStoredMessageAsync(Guid messageId)
    {
        await using var connection = new NpgsqlConnection(MessagesConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select status, content, error_code from messages where id = @id", connection);
        command.Parameters.AddWithValue("id", messageId);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"message {messageId} not stored");
        return (reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2));
    }

    /// <summary>
    /// What the servers hold for a message, for failure messages: the stored row, the channel's Redis history and
    /// pub/sub subscribers, and the Api's last log lines.
    /// </summary>
    public async Task<string> DescribeAsync(string channel, Guid messageId)
    {
        var row = await ReadStoredMessageAsync(messageId);
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync((await App.GetConnectionStringAsync("redis"))!);
        var name = AiStreaming.Channels.ChannelName.Parse(channel);
        var entries = await redis.GetDatabase().StreamRangeAsync(name.StreamKey);
        // On a cluster live events take sharded pub/sub (AppHost/Program.cs); SHARDNUMSUB counts on the node asked.
        var numsub = (StackExchange.Redis.RedisResult[])(await redis.GetDatabase().ExecuteAsync(
            "PUBSUB", IsRedisCluster ? "SHARDNUMSUB" : "NUMSUB", name.PubSubChannel.ToString()))!;
        return $"Stored: {row.Status}, {row.Content.Length} chars. Redis history: {entries.Length} entries "
            + $"({entries.FirstOrDefault().Id}..{entries.LastOrDefault().Id}), {numsub[1]} pub/sub subscribers. Api log tail:\n"
            + string.Join("\n", (await Task.WhenAll(ApiIds.Select(async id => (await App.GetLogsAsync(id)).TakeLast(40).Select(l => $"[{id}] {l}"))))
                .SelectMany(lines => lines))
            + "\nStreamer warnings:\n" + string.Join("\n", (await Task.WhenAll(StreamerIds.Select(async id =>
                (await App.GetLogsAsync(id)).Where(l => l.Contains("warn") || l.Contains("fail") || l.Contains("Redis") || l.Contains("Drain"))
                    .TakeLast(30).Select(l => $"[{id}] {l}")))).SelectMany(lines => lines));
    }

    /// <summary>The index in <see cref="StreamerIds"/> of the streamer replica whose server process id is in <paramref name="node"/> (<c>host:pid</c>).</summary>
    public int StreamerReplicaOf(string? node)
    {
        Assert.NotNull(node);
        var pid = int.Parse(node[(node.LastIndexOf(':') + 1)..]);
        for (var i = 0; i < StreamerIds.Count; i++)
        {
            if (App.ServerProcessId(StreamerIds[i]) == pid)
            {
                return i;
            }
        }
        throw new InvalidOperationException($"No streamer replica has pid {pid}.");
    }

    /// <summary>Kills one replica's server (SIGKILL, as a crash) and waits until Aspire sees it stopped.</summary>
    public Task KillAsync(string replicaId) => App.KillAsync(replicaId);

    /// <summary>Starts a killed or stopped replica again and waits until it is healthy.</summary>
    public Task StartAsync(string replicaId) => App.StartAsync(replicaId);

    /// <summary>Runs a resource command (<see cref="KnownResourceCommands"/>, e.g. stop and start of <c>redis</c>), failing the test if it fails.</summary>
    public Task CommandAsync(string resourceId, string command) => App.CommandAsync(resourceId, command);

    /// <summary>The Redis servers' resource ids: <c>redis</c>'s, and on a cluster its other masters' (<c>redis-node-1</c>, …).</summary>
    public IReadOnlyList<string> RedisNodes { get; private set; } = [];

    /// <summary>A Redis outage: stops every Redis server (each master of a cluster, so every channel's shard is gone).</summary>
    public async Task StopRedisAsync()
    {
        // All at once, as a whole cluster going down would.
        await Task.WhenAll(RedisNodes.Select(node => App.CommandAsync(node, KnownResourceCommands.StopCommand)));
    }

    /// <summary>Ends <see cref="StopRedisAsync"/>'s outage: starts every Redis server again (without its data) and waits until
    /// each is healthy (<c>redis</c> only once the cluster is whole again).</summary>
    public async Task StartRedisAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await Task.WhenAll(RedisNodes.Select(node => App.CommandAsync(node, KnownResourceCommands.StartCommand, cts.Token)));
        foreach (var node in RedisNodes)
        {
            // By its own snapshot: right after the start command the resource may still show the stop's exit, which
            // WaitForResourceHealthyAsync takes for a failed start.
            await App.WaitForReplicaAsync(node, ReplicaExtensions.IsHealthy, cts.Token);
        }
        // The outage is over for the next test once every Api replica is ready again: its readiness includes Redis, and
        // after a whole cluster restarted its multiplexer can take seconds more to reconnect than the servers to start.
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        foreach (var api in ApiIds)
        {
            var health = new Uri(App.ReplicaUri(api), "/health");
            await Eventually.UntilAsync(async () =>
            {
                try
                {
                    return (await http.GetAsync(health)).IsSuccessStatusCode;
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    return false;
                }
            }, TimeSpan.FromSeconds(60), $"{api} ready again after Redis came back");
        }
    }

    /// <summary>The server process id of one replica (or of <c>redis</c>) while it runs.</summary>
    public int? ProcessIdOf(string replicaId) => App.ServerProcessId(replicaId);
}

/// <summary>End-to-end tests sharing one running stack; they run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class StackCollection : ICollectionFixture<StackFixture>
{
    public const string Name = "stack";
}
