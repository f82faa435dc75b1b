using System.Globalization;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using AiStreaming.Bench.Clients;
using AiStreaming.Bench.Measure;
using Microsoft.Extensions.DependencyInjection;

namespace AiStreaming.Bench.Stack;

/// <summary>
/// The whole stack (Redis, PostgreSQL, Api ×<see cref="BenchOptions.ApiReplicas"/>, Streamer ×2, Web) composed by the
/// AppHost and run by Aspire (Aspire.Hosting.Testing), with the simulated model in benchmark mode
/// (<c>SimulatedModel__StampTokens=true</c>) at the requested pace and every <c>--env</c> pair on every service.
/// Aspire launches each project as <c>dotnet run --no-build --configuration C</c> where C is the configuration the
/// AppHost assembly was built in, i.e. the Bench's own (Release under <c>dotnet run -c Release --project Bench</c>).
/// </summary>
public sealed class BenchStack : IAsyncDisposable
{
    private static readonly TimeSpan HealthyTimeout = TimeSpan.FromSeconds(180);

    private readonly string _dataDirectory;
    private readonly IReadOnlyList<string> _webIds;

    private BenchStack(DistributedApplication app, string dataDirectory, IReadOnlyList<string> apiIds, IReadOnlyList<string> streamerIds, IReadOnlyList<string> webIds)
    {
        App = app;
        _dataDirectory = dataDirectory;
        _webIds = webIds;
        ApiIds = apiIds;
        StreamerIds = streamerIds;
        StreamerUris = [.. streamerIds.Select(ReplicaUri)];
    }

    /// <summary>The running application.</summary>
    public DistributedApplication App { get; }

    /// <summary>The Api's replica ids (<c>api-abcd1234</c>, …), in a stable order.</summary>
    public IReadOnlyList<string> ApiIds { get; }

    /// <summary>The Streamer's replica ids (<c>streamer-abcd1234</c>, …), in a stable order.</summary>
    public IReadOnlyList<string> StreamerIds { get; }

    /// <summary>Each streamer replica's own address (<c>http://127.0.0.1:{port}</c>, bypassing Aspire's proxy), by replica index.</summary>
    public IReadOnlyList<Uri> StreamerUris { get; }

    /// <summary>Streamer replicas (2 with the AppHost's Program.cs).</summary>
    public int StreamerReplicas => StreamerIds.Count;

    /// <summary>Api replicas (<c>--api-replicas</c>).</summary>
    public int ApiReplicas => ApiIds.Count;

    /// <summary>Web's address through Aspire's proxy.</summary>
    public Uri WebUri => Endpoint("web");

    /// <summary>
    /// Starts the stack; returns when every replica of every service is healthy.
    /// </summary>
    /// <param name="options">Api replicas, model pace and reply lengths, <c>--env</c> pairs, <c>--through-web</c>.</param>
    /// <param name="streamerEnvironment">More environment variables for the streamers only (null for none).</param>
    /// <param name="cancellationToken">Aborts the start.</param>
    /// <exception cref="TimeoutException">A replica was not healthy within 3 minutes.</exception>
    /// <exception cref="DistributedApplicationException">Aspire could not start a resource.</exception>
    public static async Task<BenchStack> StartAsync(BenchOptions options, IDictionary<string, string>? streamerEnvironment, CancellationToken cancellationToken)
    {
        // No developer certificate on the machines the bench runs on: DCP is spoken to over plain HTTP.
        Environment.SetEnvironmentVariable("ASPIRE_ALLOW_UNSECURED_TRANSPORT", "true");
        var dataDirectory = NewDataDirectory();
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
        [
            $"--Parameters:auth-signing-key={BenchAuth.NewKey()}",
            $"--LocalServers:DataDirectory={dataDirectory}",
            // The services' per-request logs would be CPU charged to the hot path; the AppHost's own stay quiet too:
            // health probes fail by design while services start and stop, and PostgreSQL writes every line to stderr.
            // A stack that does not become healthy is described with its resources' last log lines instead.
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Microsoft.Extensions.Diagnostics.HealthChecks=None",
            "--Logging:LogLevel:AppHost.Resources=None",
        ], cancellationToken);
        var api = builder.CreateResourceBuilder<ProjectResource>("api")
            .WithReplicas(options.ApiReplicas)
            .WithEnvironment("SimulatedModel__StampTokens", "true")
            .WithEnvironment("SimulatedModel__TokensPerSecond", options.TokensPerSecond.ToString(CultureInfo.InvariantCulture))
            .WithEnvironment("SimulatedModel__TimeToFirstToken", options.ModelTimeToFirstToken.ToString("c"))
            .WithEnvironment("SimulatedModel__MinTokens", options.MinTokens.ToString(CultureInfo.InvariantCulture))
            .WithEnvironment("SimulatedModel__MaxTokens", options.MaxTokens.ToString(CultureInfo.InvariantCulture))
            .WithEnvironment("Logging__LogLevel__Default", "Warning");
        var streamer = builder.CreateResourceBuilder<ProjectResource>("streamer").WithEnvironment("Logging__LogLevel__Default", "Warning");
        var web = builder.CreateResourceBuilder<ProjectResource>("web").WithEnvironment("Logging__LogLevel__Default", "Warning");
        var identity = builder.CreateResourceBuilder<ProjectResource>("identity").WithEnvironment("Logging__LogLevel__Default", "Warning");
        foreach (var project in new[] { api, streamer, web, identity })
        {
            // The testing builder runs no dashboard yet points OTLP at one: each service would keep retrying its exports
            // to nobody, CPU the bench would charge to the delivery path. No endpoint: no exporter.
            project.WithEnvironment("OTEL_EXPORTER_OTLP_ENDPOINT", "");
        }
        foreach (var (key, value) in BenchAuth.LimitsEnvironment)
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
            using var healthy = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            healthy.CancelAfter(HealthyTimeout);
            await app.StartAsync(healthy.Token);
            var apiIds = await ReplicaIdsAsync(app, "api", healthy.Token);
            var streamerIds = await ReplicaIdsAsync(app, "streamer", healthy.Token);
            var webIds = await ReplicaIdsAsync(app, "web", healthy.Token);
            try
            {
                await Task.WhenAll(apiIds.Concat(streamerIds).Concat(webIds).Select(id => WaitHealthyAsync(app, id, healthy.Token)));
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"The stack was not healthy within {HealthyTimeout.TotalSeconds:0} s: "
                    + await DescribeAsync(app, apiIds.Concat(streamerIds).Concat(webIds)));
            }
            var stack = new BenchStack(app, dataDirectory, apiIds, streamerIds, webIds);
            if (options.ThroughWeb)
            {
                // Web replaces any bearer a client sends with the signed-in user's: sign in as the bench user.
                await BenchAuth.SignInToWebAsync(stack.WebUri, cancellationToken);
            }
            return stack;
        }
        catch
        {
            await app.DisposeAsync();
            DeleteDataDirectory(dataDirectory);
            throw;
        }
    }

    /// <summary>The Api's address through Aspire's proxy in front of its replicas (or Web's when <paramref name="throughWeb"/>).</summary>
    public Uri ApiUri(bool throughWeb) => Endpoint(throughWeb ? "web" : "api");

    /// <summary>Where subscriber <paramref name="index"/> connects: streamer replica <c>index % replicas</c> directly, or Web.</summary>
    public Uri SubscriberUri(int index, bool throughWeb) => throughWeb ? WebUri : StreamerUris[index % StreamerReplicas];

    /// <summary>The server process of streamer replica <paramref name="replica"/> (not the <c>dotnet run</c> launcher).</summary>
    /// <exception cref="InvalidOperationException">It is not running.</exception>
    public int StreamerProcessId(int replica) =>
        ServerProcessId(StreamerIds[replica]) ?? throw new InvalidOperationException($"{StreamerIds[replica]} is not running.");

    /// <summary>Probes for every server process (trees): api#i, streamer#i, redis, postgres, web#i.</summary>
    /// <exception cref="InvalidOperationException">A process is not running.</exception>
    public List<ProcessProbe> Probes()
    {
        var probes = new List<ProcessProbe>();
        for (var i = 0; i < ApiReplicas; i++)
        {
            probes.Add(Probe(ApiReplicas == 1 ? "api" : $"api#{i}", ApiIds[i]));
        }
        for (var i = 0; i < StreamerReplicas; i++)
        {
            probes.Add(Probe($"streamer#{i}", StreamerIds[i]));
        }
        probes.Add(Probe("redis", SingleId("redis")));
        probes.Add(Probe("postgres", SingleId("postgres")));
        for (var i = 0; i < _webIds.Count; i++)
        {
            probes.Add(Probe(_webIds.Count == 1 ? "web" : $"web#{i}", _webIds[i]));
        }
        return probes;
    }

    /// <summary>
    /// The server process of one replica while it runs: for a project, the child of the <c>dotnet run</c> launcher whose
    /// pid the snapshot holds; for an executable (redis-server, PostgreSQL's postmaster), the process DCP started.
    /// Null when it is not running.
    /// </summary>
    public int? ServerProcessId(string replicaId)
    {
        if (!App.ResourceNotifications.TryGetCurrentState(replicaId, out var resourceEvent)
            || resourceEvent.Snapshot.State?.Text != KnownResourceStates.Running
            || resourceEvent.Snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value is not { } value
            || !int.TryParse(value.ToString(), CultureInfo.InvariantCulture, out var pid))
        {
            return null;
        }
        return resourceEvent.Resource is ProjectResource ? ChildrenOf(pid).FirstOrDefault(pid) : pid;
    }

    /// <summary>Stops the application and deletes its data folder.</summary>
    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        DeleteDataDirectory(_dataDirectory);
    }

    private ProcessProbe Probe(string name, string replicaId) =>
        new(name, ServerProcessId(replicaId) ?? throw new InvalidOperationException($"{replicaId} is not running."));

    private string SingleId(string resource) =>
        App.ResourceNotifications.TryGetCurrentState(resource, out var resourceEvent)
            ? resourceEvent.ResourceId
            : throw new InvalidOperationException($"No resource {resource}.");

    private Uri Endpoint(string resource) => Loopback(App.GetEndpoint(resource));

    private Uri ReplicaUri(string replicaId)
    {
        // The replica's own address, bypassing Aspire's proxy: the first URL of its ASPNETCORE_URLS.
        var urls = App.ResourceNotifications.TryGetCurrentState(replicaId, out var resourceEvent)
            ? resourceEvent.Snapshot.EnvironmentVariables.FirstOrDefault(e => e.Name == "ASPNETCORE_URLS")?.Value
            : null;
        return Loopback(new Uri((urls ?? throw new InvalidOperationException($"{replicaId} has no ASPNETCORE_URLS.")).Split(';')[0]));
    }

    // "localhost" may resolve to ::1 first, where nothing listens: connect to 127.0.0.1 directly.
    private static Uri Loopback(Uri uri) =>
        uri.Host == "localhost" ? new UriBuilder(uri) { Host = "127.0.0.1" }.Uri : uri;

    private static async Task<IReadOnlyList<string>> ReplicaIdsAsync(DistributedApplication app, string resource, CancellationToken cancellationToken)
    {
        var model = app.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == resource);
        var expected = model.Annotations.OfType<ReplicaAnnotation>().LastOrDefault()?.Replicas ?? 1;
        var ids = new SortedSet<string>(StringComparer.Ordinal);
        // The watch first replays the current state of every resource.
        await foreach (var resourceEvent in app.ResourceNotifications.WatchAsync(cancellationToken))
        {
            if (resourceEvent.Resource.Name == resource && ids.Add(resourceEvent.ResourceId) && ids.Count == expected)
            {
                break;
            }
        }
        return [.. ids];
    }

    private static bool Healthy(CustomResourceSnapshot s) =>
        s.State?.Text == KnownResourceStates.Running && s.HealthStatus == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy;

    private static async Task WaitHealthyAsync(DistributedApplication app, string replicaId, CancellationToken cancellationToken)
    {
        if (app.ResourceNotifications.TryGetCurrentState(replicaId, out var current) && Healthy(current.Snapshot))
        {
            return;
        }
        // ResourceNotificationService's WaitFor* methods take a resource name: a replica is awaited by its own snapshot.
        await foreach (var resourceEvent in app.ResourceNotifications.WatchAsync(cancellationToken))
        {
            if (resourceEvent.ResourceId == replicaId && Healthy(resourceEvent.Snapshot))
            {
                return;
            }
        }
    }

    // Each replica's state and health, and the last log lines of those that are not healthy.
    private static async Task<string> DescribeAsync(DistributedApplication app, IEnumerable<string> replicaIds)
    {
        var logs = app.Services.GetRequiredService<ResourceLoggerService>();
        var text = new System.Text.StringBuilder();
        foreach (var id in replicaIds)
        {
            var snapshot = app.ResourceNotifications.TryGetCurrentState(id, out var e) ? e.Snapshot : null;
            text.Append(CultureInfo.InvariantCulture, $"\n  {id}: {snapshot?.State?.Text ?? "?"}, {snapshot?.HealthStatus?.ToString() ?? "no health yet"}");
            if (snapshot is not null && Healthy(snapshot))
            {
                continue;
            }
            var lines = new List<string>();
            await foreach (var batch in logs.GetAllAsync(id))
            {
                lines.AddRange(batch.Select(l => l.Content));
            }
            foreach (var line in lines.TakeLast(20))
            {
                text.Append(CultureInfo.InvariantCulture, $"\n    {line}");
            }
        }
        return text.ToString();
    }

    private static IEnumerable<int> ChildrenOf(int pid)
    {
        var tasks = $"/proc/{pid}/task";
        if (!Directory.Exists(tasks))
        {
            return [];
        }
        return Directory.EnumerateDirectories(tasks)
            .SelectMany(task => File.Exists(Path.Combine(task, "children")) ? File.ReadAllText(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries) : [])
            .Select(p => int.Parse(p, CultureInfo.InvariantCulture));
    }

    // A fresh folder for Redis and PostgreSQL that other users can pass through (0711): PostgreSQL runs as postgres.
    private static string NewDataDirectory()
    {
        var directory = Directory.CreateTempSubdirectory("aistreaming-bench-").FullName;
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }
        return directory;
    }

    private static void DeleteDataDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"  warning: could not delete {directory}: {ex.Message}");
        }
    }
}
