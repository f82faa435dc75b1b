using System.Runtime.InteropServices;
using AiStreaming.AppHost.Hosting.Dashboard;
using AiStreaming.AppHost.Hosting.Publishing;
using AiStreaming.AppHost.Hosting.Runtime;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace AiStreaming.AppHost.Hosting;

/// <summary>
/// The running application: every resource as child processes of this one, on loopback ports. Same name and meaning as
/// Aspire's <c>DistributedApplication</c>, plus what Aspire.Hosting.Testing offers tests (endpoints, HTTP clients, connection
/// strings) and per-replica controls (kill, stop, start on the same port, restart, logs, pid).
/// Every child is launched through <c>setpriv --pdeathsig</c>, so none outlives the AppHost, even when it is killed.
/// </summary>
public sealed class DistributedApplication : IAsyncDisposable
{
    private readonly Orchestrator _orchestrator;
    private readonly HostContext _host;
    private readonly DashboardServer? _dashboardServer;
    private readonly HttpClient _healthClient;
    private readonly ManifestPublisher? _publisher;
    private DashboardServer? _dashboard;
    private int _started;
    private int _disposed;

    private DistributedApplication(IDistributedApplicationBuilder builder, HostContext host, Orchestrator orchestrator, DashboardServer? dashboard, HttpClient healthClient,
        ManifestPublisher? publisher = null)
    {
        _publisher = publisher;
        _healthClient = healthClient;
        Resources = builder.Resources;
        _host = host;
        _orchestrator = orchestrator;
        _dashboardServer = dashboard;
    }

    /// <summary>The application's resources.</summary>
    public ResourceCollection Resources { get; }

    /// <summary>The folder holding server data (absolute).</summary>
    public string DataRoot => _host.DataRoot;

    /// <summary>The dashboard's address once started, or null when it is disabled.</summary>
    public Uri? DashboardUrl => _dashboard?.Url;

    /// <summary>The URL that logs a browser into the dashboard (<c>http://127.0.0.1:PORT/login?t=TOKEN</c>, as Aspire prints), or null
    /// when the dashboard is disabled or not started. The token is random per run.</summary>
    public Uri? DashboardLoginUrl => _dashboard?.LoginUrl;

    /// <summary>Creates a builder for <c>dotnet run</c>: <paramref name="args"/> are read as configuration, data goes to <c>{repo}/.data</c>,
    /// the dashboard runs, resource output is copied to the console.</summary>
    public static IDistributedApplicationBuilder CreateBuilder(string[] args) =>
        CreateBuilder(new DistributedApplicationOptions { Args = args });

    /// <summary>Creates a builder with explicit options, e.g. a Redis + PostgreSQL fixture for integration tests:
    /// <c>CreateBuilder(new DistributedApplicationOptions { DataRoot = tmp, DashboardEnabled = false })</c>.</summary>
    public static IDistributedApplicationBuilder CreateBuilder(DistributedApplicationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var hook = TestingHook.Current.Value;
        hook?.Configure(options);
        return new DistributedApplicationBuilder(options, hook);
    }

    internal static DistributedApplication Create(DistributedApplicationBuilder builder)
    {
        var options = builder.Options;
        if (ManifestPublisher.FromConfiguration(builder.Configuration, builder.Resources) is { } publisher)
        {
            // Publish mode (--publisher manifest): no ports, passwords, data folder or processes; Run writes the manifest.
            var idle = new HostContext(options, Path.GetFullPath(options.DataRoot ?? DefaultDataRoot()));
            return new DistributedApplication(builder, idle, new Orchestrator(idle, []), null, new HttpClient(), publisher);
        }
        var dataRoot = Path.GetFullPath(options.DataRoot ?? DefaultDataRoot());
        Directory.CreateDirectory(dataRoot);
        if (Posix.IsRoot)
        {
            // The postgres user must be able to enter the data root to reach its own folder.
            Posix.SetMode(dataRoot, Posix.GetMode(dataRoot)
                | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
        var host = new HostContext(options, dataRoot);

        foreach (var resource in builder.Resources.OfType<Resource>().Where(r => r is IResourceWithConnectionString))
        {
            resource.ExternalConnectionString = builder.Configuration.GetConnectionString(resource.Name) is { Length: > 0 } cs ? cs : null;
        }

        var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var runtimes = new List<ResourceRuntime>();
        var color = 0;
        foreach (var resource in builder.Resources.OfType<Resource>())
        {
            (ResourceDriver Driver, int[] Ports) entry = resource switch
            {
                RedisResource redis when redis.ExternalConnectionString is null =>
                    CreateRedis(host, redis),
                PostgresServerResource server when server.ExternalConnectionString is null && IsNeeded(server, builder.Resources) =>
                    CreatePostgres(host, server),
                ProjectResource project =>
                    (new ProjectDriver(host, project, http),
                     project.Ports = [.. Enumerable.Range(0, project.Replicas).Select(_ => PortAllocator.GetFreePort())]),
                PostgresDatabaseResource database =>
                    (new VirtualDriver(host, database.ExternalConnectionString is null ? "Database" : "Database (external)",
                        _ => ExternalEndpoint(database)), [database.Parent.Port ?? 0]),
                _ => (new VirtualDriver(host, $"{resource.GetType().Name.Replace("Resource", "", StringComparison.Ordinal)} (not started)",
                        _ => ExternalEndpoint(resource)), [0]),
            };
            runtimes.Add(new ResourceRuntime(resource, entry.Driver, color++, entry.Ports));
        }

        var orchestrator = new Orchestrator(host, runtimes);
        var dashboard = options.DashboardEnabled
            ? new DashboardServer(orchestrator,
                options.DashboardPort > 0 ? PortAllocator.Reserve(options.DashboardPort) : PortAllocator.GetFreePort(), PortAllocator.GetFreePort())
            : null;
        if (Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT") is { Length: > 0 } collector)
        {
            host.OtlpEndpoint = collector;
            host.OtlpFromEnvironment = true;
        }
        else if (dashboard is not null)
        {
            var grpc = options.DashboardOtlpProtocol != "http/protobuf";
            host.OtlpEndpoint = grpc ? dashboard.OtlpGrpcEndpoint : dashboard.OtlpHttpEndpoint;
            host.OtlpProtocol = grpc ? "grpc" : "http/protobuf";
            host.OtlpHeaders = $"{OtlpIngestion.ApiKeyHeader}={dashboard.Security.OtlpApiKey}";
        }

        return new DistributedApplication(builder, host, orchestrator, dashboard, http);
    }

    /// <summary>
    /// Starts the dashboard (when enabled) and every resource in <c>WaitFor</c> order; returns when all are healthy.
    /// In publish mode (<c>--publisher manifest</c>) it writes the manifest instead and starts nothing.
    /// </summary>
    /// <exception cref="DistributedApplicationException">A binary or build output is missing, or a resource exited or did not become healthy
    /// in time; the message names it and quotes its last output lines.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The application was already started.");
        }
        if (_publisher is not null)
        {
            await _publisher.WriteAsync(cancellationToken).ConfigureAwait(false);
            return;
        }
        if (_orchestrator.CheckPrerequisites() is { Count: > 0 } problems)
        {
            throw new DistributedApplicationException(string.Join(Environment.NewLine, problems));
        }
        if (_dashboardServer is { } dashboard)
        {
            await dashboard.StartAsync(cancellationToken).ConfigureAwait(false);
            _dashboard = dashboard;
        }
        await _orchestrator.StartAllAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops every resource in reverse dependency order: SIGTERM (SIGINT for PostgreSQL), SIGKILL after <see cref="DistributedApplicationOptions.StopTimeout"/>.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _orchestrator.StopAllAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_dashboard is { } dashboard)
        {
            _dashboard = null;
            await dashboard.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Starts everything, prints the resources, the external URL and the dashboard URL, then blocks until Ctrl+C or SIGTERM
    /// and stops everything. A second Ctrl+C kills what is still running. Exit code 1 when the start failed.
    /// </summary>
    public void Run() => RunAsync().GetAwaiter().GetResult();

    /// <summary>As <see cref="Run"/>; <paramref name="cancellationToken"/> also ends it.</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        if (_publisher is not null)
        {
            // As Aspire: with --publisher manifest, Run writes the manifest and returns without starting anything.
            await StartAsync(cancellationToken).ConfigureAwait(false);
            ConsoleOutput.Info($"Wrote the manifest to {_publisher.OutputPath}");
            await DisposeAsync().ConfigureAwait(false);
            return;
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var signals = 0;
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            if (Interlocked.Increment(ref signals) == 1)
            {
                ConsoleOutput.Info("Stopping… (Ctrl+C again to kill)");
                stop.Cancel();
            }
            else
            {
                ConsoleOutput.Info("Killing…");
                _orchestrator.KillAllNow();
            }
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        ConsoleOutput.Info($"AiStreaming AppHost: data in {DataRoot}");
        try
        {
            await StartAsync(stop.Token).ConfigureAwait(false);
            PrintSummary();
            await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (DistributedApplicationException ex)
        {
            ConsoleOutput.Error(ex.Message);
            Environment.ExitCode = 1;
        }
        await DisposeAsync().ConfigureAwait(false);
        ConsoleOutput.Info("Stopped.");
    }

    // The repository's .data folder, unless running as root in a folder the 'postgres' user cannot enter (a clone
    // under /root, or under a private temporary folder): PostgreSQL must run as 'postgres', so the data then goes to a
    // folder of its own under /var/tmp (kept across runs, one per repository path).
    private static string DefaultDataRoot()
    {
        var repository = AppHostMetadata.RepositoryRoot;
        var local = Path.Combine(repository, ".data");
        for (var dir = repository; Posix.IsRoot && dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (Directory.Exists(dir) && !Posix.GetMode(dir).HasFlag(UnixFileMode.OtherExecute))
            {
                var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(local)))[..12];
                return Path.Combine("/var/tmp", $"aistreaming-{hash}");
            }
        }
        return local;
    }

    /// <summary>Stops everything, the dashboard too, and deletes the data root when <see cref="DistributedApplicationOptions.DeleteDataRootOnDispose"/> is set.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await StopAsync().ConfigureAwait(false);
        _orchestrator.ReleaseProcesses();
        _healthClient.Dispose();
        // Pooled Npgsql connections of this process to our servers are dead now; drop them so a later fixture starts clean.
        foreach (var server in Resources.OfType<PostgresServerResource>().Where(s => s.ExternalConnectionString is null && s.Port is not null))
        {
            foreach (var cs in server.Databases.Select(d => server.BuildConnectionString(d.DatabaseName)).Append(server.BuildConnectionString(null)))
            {
                using var connection = new NpgsqlConnection(cs);
                NpgsqlConnection.ClearPool(connection);
            }
        }
        if (_host.Options.DeleteDataRootOnDispose && Directory.Exists(DataRoot))
        {
            try
            {
                Directory.Delete(DataRoot, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                ConsoleOutput.Error($"Could not delete {DataRoot}: {ex.Message}");
            }
        }
    }

    /// <summary>The address of one replica: <c>http://127.0.0.1:{port}</c> for a project, <c>tcp://127.0.0.1:{port}</c> for a server.
    /// Stable across stop/start/restart of the replica.</summary>
    /// <exception cref="KeyNotFoundException">No resource has that name.</exception>
    /// <exception cref="ArgumentOutOfRangeException">No such replica.</exception>
    public Uri GetEndpoint(string resourceName, int replica = 0)
    {
        var runtime = _orchestrator.Get(resourceName);
        return runtime.Driver.GetEndpoint(runtime.GetReplica(replica));
    }

    /// <summary>An <see cref="HttpClient"/> whose base address is the replica's endpoint. The caller disposes it.</summary>
    public HttpClient CreateHttpClient(string resourceName, int replica = 0) =>
        new() { BaseAddress = GetEndpoint(resourceName, replica) };

    /// <summary>The connection string a referencing project gets for <paramref name="resourceName"/> (<c>redis</c>, <c>messages</c>, <c>postgres</c>).</summary>
    /// <exception cref="KeyNotFoundException">No resource has that name.</exception>
    /// <exception cref="InvalidOperationException">The resource has no connection string (e.g. a project).</exception>
    public ValueTask<string?> GetConnectionStringAsync(string resourceName, CancellationToken cancellationToken = default) =>
        Resources[resourceName] is IResourceWithConnectionString resource
            ? resource.GetConnectionStringAsync(cancellationToken)
            : throw new InvalidOperationException($"Resource '{resourceName}' has no connection string.");

    /// <summary>Kills the replica with SIGKILL (no cleanup, like a crash) and waits until it has exited. State becomes <see cref="ResourceState.Killed"/>.</summary>
    public Task KillResourceAsync(string resourceName, int replica = 0, CancellationToken cancellationToken = default) =>
        _orchestrator.StopReplicaAsync(Replica(resourceName, replica), kill: true).WaitAsync(cancellationToken);

    /// <summary>Stops the replica gracefully (SIGTERM, SIGINT for PostgreSQL; SIGKILL after the stop timeout) and waits until it has exited.</summary>
    public Task StopResourceAsync(string resourceName, int replica = 0, CancellationToken cancellationToken = default) =>
        _orchestrator.StopReplicaAsync(Replica(resourceName, replica), kill: false).WaitAsync(cancellationToken);

    /// <summary>
    /// Starts a stopped, killed or exited replica again on the same port, so endpoints and connection strings stay valid, and
    /// waits until it is healthy. Redis comes back empty (no persistence). A no-op when it runs.
    /// </summary>
    /// <exception cref="DistributedApplicationException">It exited or did not become healthy in time.</exception>
    public Task StartResourceAsync(string resourceName, int replica = 0, CancellationToken cancellationToken = default) =>
        _orchestrator.StartReplicaAsync(Replica(resourceName, replica), cancellationToken);

    /// <summary>Stops the replica gracefully, then starts it on the same port and waits until it is healthy.</summary>
    public async Task RestartResourceAsync(string resourceName, int replica = 0, CancellationToken cancellationToken = default)
    {
        await StopResourceAsync(resourceName, replica, cancellationToken).ConfigureAwait(false);
        await StartResourceAsync(resourceName, replica, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits until every replica of the resource is <see cref="ResourceState.Healthy"/>.</summary>
    public Task WaitForResourceHealthyAsync(string resourceName, CancellationToken cancellationToken = default) =>
        Task.WhenAll(_orchestrator.Get(resourceName).Replicas.Select(r => r.WaitUntilAsync(x => x.State == ResourceState.Healthy, cancellationToken)));

    /// <summary>Waits until one replica is <see cref="ResourceState.Healthy"/>.</summary>
    public Task WaitForResourceHealthyAsync(string resourceName, int replica, CancellationToken cancellationToken = default) =>
        Replica(resourceName, replica).WaitUntilAsync(x => x.State == ResourceState.Healthy, cancellationToken);

    /// <summary>Waits until one replica reaches <paramref name="state"/> (e.g. <see cref="ResourceState.Exited"/> after it crashed).</summary>
    public Task WaitForResourceStateAsync(string resourceName, int replica, ResourceState state, CancellationToken cancellationToken = default) =>
        Replica(resourceName, replica).WaitUntilAsync(x => x.State == state, cancellationToken);

    /// <summary>The replica's state.</summary>
    public ResourceState GetResourceState(string resourceName, int replica = 0) => Replica(resourceName, replica).State;

    /// <summary>How many replicas the resource has.</summary>
    public int GetReplicaCount(string resourceName) => _orchestrator.Get(resourceName).Replicas.Count;

    /// <summary>The replica's recent output lines (stdout and stderr, oldest first, at most 500), across its restarts.</summary>
    public IReadOnlyList<string> GetResourceLogs(string resourceName, int replica = 0) => Replica(resourceName, replica).GetLogs();

    /// <summary>The replica's process id while it runs, else null.</summary>
    public int? GetProcessId(string resourceName, int replica = 0) => Replica(resourceName, replica).ProcessId;

    private ReplicaRuntime Replica(string resourceName, int replica) => _orchestrator.Get(resourceName).GetReplica(replica);

    private void PrintSummary()
    {
        var rows = _orchestrator.StartOrder
            .SelectMany(r => r.Replicas.Select(p => (Name: r.Name, Replica: p.Index.ToString(System.Globalization.CultureInfo.InvariantCulture),
                State: p.State.ToString(), Pid: p.ProcessId?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-",
                Endpoint: r.Driver.GetEndpoint(p).GetLeftPart(UriPartial.Authority))))
            .Prepend(("Resource", "Replica", "State", "PID", "Endpoint"))
            .ToList();
        int W(Func<(string, string, string, string, string), string> f) => rows.Max(r => f(r).Length) + 2;
        var (w1, w2, w3, w4) = (W(r => r.Item1), W(r => r.Item2), W(r => r.Item3), W(r => r.Item4));
        Console.WriteLine();
        foreach (var row in rows)
        {
            Console.WriteLine($"  {row.Item1.PadRight(w1)}{row.Item2.PadRight(w2)}{row.Item3.PadRight(w3)}{row.Item4.PadRight(w4)}{row.Item5}");
        }
        Console.WriteLine();
        foreach (var project in Resources.OfType<ProjectResource>().Where(p => p.IsExternal))
        {
            ConsoleOutput.Info($"  {project.Name}: {GetEndpoint(project.Name).GetLeftPart(UriPartial.Authority)}");
        }
        if (DashboardLoginUrl is { } dashboard)
        {
            // As Aspire prints "Login to the dashboard at …/login?t=…": the token is the only way in.
            ConsoleOutput.Info($"  dashboard: {dashboard}");
        }
        ConsoleOutput.Info("  Press Ctrl+C to stop.");
        Console.WriteLine();
    }

    private static int Port(int? requested) => requested is { } port ? PortAllocator.Reserve(port) : PortAllocator.GetFreePort();

    private static bool IsNeeded(PostgresServerResource server, ResourceCollection resources) =>
        server.Databases.Any(d => d.ExternalConnectionString is null)
        || server.Databases.Count == 0
        || resources.OfType<Resource>().Any(r => r.WaitForList.Contains(server) || r.ReferenceList.Contains(server));

    private static (ResourceDriver, int[]) CreateRedis(HostContext host, RedisResource redis)
    {
        redis.Port = Port(redis.RequestedPort);
        redis.Password = RedisDriver.CreatePassword();
        return (new RedisDriver(host, redis), [redis.Port.Value]);
    }

    private static (ResourceDriver, int[]) CreatePostgres(HostContext host, PostgresServerResource server)
    {
        server.Port = Port(server.RequestedPort);
        server.Password = PostgresDriver.LoadOrCreatePassword(host.DataRoot, server);
        foreach (var database in server.Databases.Where(d => d.ExternalConnectionString is null))
        {
            database.OwnerPassword = PostgresDriver.LoadOrCreateOwnerPassword(host.DataRoot, server, database);
        }
        return (new PostgresDriver(host, server), [server.Port.Value]);
    }

    private static Uri ExternalEndpoint(IResource resource)
    {
        try
        {
            switch (resource)
            {
                case RedisResource { ExternalConnectionString: { } cs }:
                    return new Uri($"tcp://{cs.Split(',')[0].Trim()}");
                case PostgresDatabaseResource { ExternalConnectionString: null } db when db.Parent.ExternalConnectionString is null:
                    return new Uri($"tcp://127.0.0.1:{db.Parent.Port}");
                case IResourceWithConnectionString:
                    var pg = new NpgsqlConnectionStringBuilder(resource switch
                    {
                        PostgresDatabaseResource db => db.ExternalConnectionString ?? db.Parent.ExternalConnectionString,
                        Resource r => r.ExternalConnectionString,
                        _ => null,
                    });
                    return new Uri($"tcp://{pg.Host}:{pg.Port}");
            }
        }
        catch (Exception ex) when (ex is UriFormatException or ArgumentException or FormatException)
        {
        }
        return new Uri($"external://{resource.Name}");
    }
}
