using System.Text.Json;
using AiStreaming.Channels;
using AiStreaming.Tests.Aspire;
using AiStreaming.Tests.Infrastructure;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using StackExchange.Redis;

namespace AiStreaming.Tests.Browser;

/// <summary>
/// The whole stack composed by the AppHost's <c>Program.cs</c> with Aspire's own dashboard running (Aspire.Hosting.Testing
/// turns it off unless <see cref="DistributedApplicationTestingBuilderOptions.EnableDashboard"/>): the dashboard on
/// loopback ports of its own over HTTP (no developer certificate), the services exporting OTLP to it as under
/// <c>dotnet run</c>.
/// </summary>
public sealed class DashboardStackFixture : IAsyncLifetime
{
    private DistributedApplication? _app;

    /// <summary>The running application.</summary>
    public DistributedApplication App => _app ?? throw new InvalidOperationException("Not started.");

    /// <summary>The dashboard's login URL (<c>http://127.0.0.1:PORT/login?t=TOKEN</c>): opening it signs the browser in.</summary>
    public Uri LoginUrl { get; private set; } = null!;

    /// <summary>The dashboard's address, without the token.</summary>
    public Uri DashboardUrl => new(LoginUrl.GetLeftPart(UriPartial.Authority));

    /// <summary>Web's address through Aspire's proxy.</summary>
    public Uri WebUri { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var builder = await TestAppHost.CreateAsync(
            new DistributedApplicationTestingBuilderOptions { EnableDashboard = true }, cts.Token,
            $"--Parameters:auth-signing-key={TestAuth.SigningKey}");
        builder.CreateResourceBuilder<ProjectResource>("api")
            // Short replies: one is streamed and its trace looked up.
            .WithEnvironment("SimulatedModel__TokensPerSecond", "80")
            .WithEnvironment("SimulatedModel__TimeToFirstToken", "00:00:00.200")
            .WithEnvironment("SimulatedModel__MinTokens", "60")
            .WithEnvironment("SimulatedModel__MaxTokens", "90");
        _app = await builder.BuildAsync(cts.Token);
        await _app.StartAsync(cts.Token);
        await _app.ResourceNotifications.WaitForResourceHealthyAsync("web", cts.Token);
        WebUri = _app.GetEndpoint("web");
        LoginUrl = await _app.GetDashboardUrlAsync(cts.Token);
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    /// <summary>
    /// The trace id (32 hex digits) of the reply <paramref name="messageId"/> in <paramref name="conversationId"/>'s channel:
    /// the <c>traceparent</c> its events carry in the channel's Redis history (docs/protocol.md, "Event").
    /// </summary>
    public async Task<string> TraceIdOfAsync(Guid conversationId, Guid messageId)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync((await App.GetConnectionStringAsync("redis"))!);
        var entries = await redis.GetDatabase().StreamRangeAsync(ChannelName.Parse($"conv:{conversationId:D}").StreamKey);
        foreach (var entry in entries)
        {
            using var e = JsonDocument.Parse((string)entry["e"]!);
            if (e.RootElement.TryGetProperty("messageId", out var id) && id.GetString() == messageId.ToString("D")
                && e.RootElement.TryGetProperty("traceparent", out var traceparent) && traceparent.GetString() is { Length: > 35 } value)
            {
                return value.Split('-')[1]; // 00-{trace id}-{span id}-{flags}
            }
        }
        throw new InvalidOperationException($"No event of {messageId} with a traceparent in the channel's history.");
    }
}

/// <summary>Tests of Aspire's dashboard against one running stack.</summary>
[CollectionDefinition(Name)]
public sealed class DashboardStackCollection : ICollectionFixture<DashboardStackFixture>
{
    public const string Name = "dashboard-stack";
}
