using AiStreaming.AppHost.Hosting;
using AiStreaming.Bench.Measure;

namespace AiStreaming.Bench.Stack;

/// <summary>
/// The whole stack (Redis, PostgreSQL, Api, Streamer ×2, Web) started through the AppHost library as the tests do, with
/// the services' <see cref="BenchOptions.Configuration"/> build (Release by default), the simulated model in benchmark
/// mode (<c>SimulatedModel__StampTokens=true</c>) at the requested pace, and every <c>--env</c> pair on every service.
/// </summary>
public sealed class BenchStack : IAsyncDisposable
{
    private BenchStack(DistributedApplication app) => App = app;

    /// <summary>The running application.</summary>
    public DistributedApplication App { get; }

    /// <summary>Starts the stack; returns when every resource is healthy.</summary>
    /// <exception cref="DistributedApplicationException">A service failed to start (the message quotes its output).</exception>
    public static async Task<BenchStack> StartAsync(BenchOptions options, IDictionary<string, string>? streamerEnvironment, CancellationToken cancellationToken)
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>([$"--Auth:SigningKey={AiStreaming.Bench.Clients.BenchAuth.NewKey()}"], o =>
        {
            o.ProjectConfiguration = options.Configuration;
            o.DashboardEnabled = false;
            o.ForwardResourceLogsToConsole = false;
            o.HealthCheckTimeout = TimeSpan.FromSeconds(120);
        }, cancellationToken);
        var api = builder.GetProject("api")
            .WithReplicas(options.ApiReplicas)
            .WithEnvironment("SimulatedModel__StampTokens", "true")
            .WithEnvironment("SimulatedModel__TokensPerSecond", options.TokensPerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithEnvironment("SimulatedModel__TimeToFirstToken", options.ModelTimeToFirstToken.ToString("c"))
            .WithEnvironment("SimulatedModel__MinTokens", options.MinTokens.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithEnvironment("SimulatedModel__MaxTokens", options.MaxTokens.ToString(System.Globalization.CultureInfo.InvariantCulture))
            // Quiet services: per-request Information logs would be CPU the bench charges to the hot path.
            .WithEnvironment("Logging__LogLevel__Default", "Warning");
        var streamer = builder.GetProject("streamer").WithEnvironment("Logging__LogLevel__Default", "Warning");
        var web = builder.GetProject("web").WithEnvironment("Logging__LogLevel__Default", "Warning");
        foreach (var (key, value) in AiStreaming.Bench.Clients.BenchAuth.LimitsEnvironment)
        {
            api.WithEnvironment(key, value);
            streamer.WithEnvironment(key, value);
        }
        foreach (var (key, value) in streamerEnvironment ?? new Dictionary<string, string>())
        {
            streamer.WithEnvironment(key, value);
        }
        foreach (var (key, value) in options.Environment)
        {
            api.WithEnvironment(key, value);
            streamer.WithEnvironment(key, value);
            web.WithEnvironment(key, value);
        }
        var app = await builder.BuildAsync(cancellationToken);
        try
        {
            await app.StartAsync(cancellationToken);
            if (options.ThroughWeb)
            {
                // Web replaces any bearer a client sends with the signed-in user's: sign in as the bench user.
                await AiStreaming.Bench.Clients.BenchAuth.SignInToWebAsync(app.GetEndpoint("web"), cancellationToken);
            }
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        return new BenchStack(app);
    }

    /// <summary>Streamer replicas (2 with the AppHost's Program.cs).</summary>
    public int StreamerReplicas => App.Resources["streamer"].ReplicaCount();

    /// <summary>Api replicas (2 with the AppHost's Program.cs).</summary>
    public int ApiReplicas => App.Resources["api"].ReplicaCount();

    /// <summary>The Api's one endpoint, the AppHost's balancer in front of its replicas (or Web's when <paramref name="throughWeb"/>).</summary>
    public Uri ApiUri(bool throughWeb) => App.GetEndpoint(throughWeb ? "web" : "api");

    /// <summary>Where subscriber <paramref name="index"/> connects: streamer replica <c>index % replicas</c>, or Web.</summary>
    public Uri SubscriberUri(int index, bool throughWeb) => throughWeb ? App.GetEndpoint("web") : App.GetEndpoint($"streamer-{index % StreamerReplicas}");

    /// <summary>Probes for every server process (trees): api, streamer#i, web, redis, postgres.</summary>
    /// <exception cref="InvalidOperationException">A process is not running.</exception>
    public List<ProcessProbe> Probes()
    {
        var probes = new List<ProcessProbe>();
        for (var i = 0; i < ApiReplicas; i++)
        {
            probes.Add(Probe(ApiReplicas == 1 ? "api" : $"api#{i}", "api", i));
        }
        for (var i = 0; i < StreamerReplicas; i++)
        {
            probes.Add(Probe($"streamer#{i}", "streamer", i));
        }
        probes.Add(Probe("redis", "redis", 0));
        probes.Add(Probe("postgres", "postgres", 0));
        probes.Add(Probe("web", "web", 0));
        return probes;
    }

    private ProcessProbe Probe(string name, string resource, int replica) =>
        new(name, ProcessId($"{resource}-{replica}") ?? throw new InvalidOperationException($"{resource}#{replica} is not running."));

    /// <summary>The process id of one replica (<c>streamer-0</c>) while it runs.</summary>
    public int? ProcessId(string replicaId) =>
        App.ResourceNotifications.TryGetCurrentState(replicaId, out var resourceEvent) ? resourceEvent.Snapshot.ProcessId : null;

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => App.DisposeAsync();
}
