using System.Net.Http.Json;
using System.Text.Json;
using AiStreaming.AppHost.Hosting;
using AiStreaming.Tests.EndToEnd;

namespace AiStreaming.Tests.Browser;

/// <summary>
/// The whole stack with the AppHost's dashboard enabled (the testing builder turns it off by default), projects exporting
/// OTLP/gRPC to it as under <c>dotnet run</c>. Once started, one reply is streamed end to end: posted through Web and read
/// over SSE (Web → streamer) until its terminal event, so traces, logs and the generation metrics exist.
/// </summary>
public sealed class DashboardStackFixture : IAsyncLifetime
{
    private DistributedApplication? _app;

    /// <summary>The running application.</summary>
    public DistributedApplication App => _app ?? throw new InvalidOperationException("Not started.");

    /// <summary>The dashboard's login URL (<c>http://127.0.0.1:PORT/login?t=TOKEN</c>).</summary>
    public Uri LoginUrl => App.DashboardLoginUrl ?? throw new InvalidOperationException("The dashboard is not running.");

    /// <summary>The dashboard's address, without the token.</summary>
    public Uri DashboardUrl => App.DashboardUrl!;

    /// <summary>The assistant message streamed at start.</summary>
    public Guid MessageId { get; private set; }

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>([], options => options.DashboardEnabled = true, cts.Token);
        builder.GetProject("api")
            .WithEnvironment("SimulatedModel__TokensPerSecond", "80")
            .WithEnvironment("SimulatedModel__TimeToFirstToken", "00:00:00.200")
            .WithEnvironment("SimulatedModel__MinTokens", "60")
            .WithEnvironment("SimulatedModel__MaxTokens", "90");
        _app = await builder.BuildAsync(cts.Token);
        await _app.StartAsync(cts.Token);

        using var session = await WebSession.SignInAsync(_app.GetEndpoint("web"), "dashboard");
        var web = session.Http;
        var conversation = await (await web.PostAsJsonAsync("/api/conversations", new { title = "dashboard" }, cts.Token))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>(cts.Token);
        var conversationId = conversation.GetProperty("id").GetGuid();
        await using var sse = await SseStreamClient.StartAsync(session, $"conv:{conversationId:D}");
        var posted = await (await web.PostAsJsonAsync($"/api/conversations/{conversationId}/messages", new { content = "Show me a trace" }, cts.Token))
            .EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>(cts.Token);
        MessageId = posted.GetProperty("messageId").GetGuid();
        await sse.Transcript.WaitUntilAsync(t => t.Terminal(MessageId) is not null, TimeSpan.FromSeconds(60), "the reply to complete");
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}

/// <summary>Tests of the dashboard against one running stack.</summary>
[CollectionDefinition(Name)]
public sealed class DashboardStackCollection : ICollectionFixture<DashboardStackFixture>
{
    public const string Name = "dashboard-stack";
}
