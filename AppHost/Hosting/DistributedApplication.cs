using System.Runtime.InteropServices;
using AiStreaming.AppHost.Hosting.Balancing;
using AiStreaming.AppHost.Hosting.Dashboard;
using AiStreaming.AppHost.Hosting.Publishing;
using AiStreaming.AppHost.Hosting.Runtime;
using Npgsql;

namespace AiStreaming.AppHost.Hosting;

/// <summary>
/// The running application: every resource as child processes of this one, on loopback ports, a project's replicas behind
/// one load-balanced endpoint. Same name and meaning as Aspire's <c>DistributedApplication</c>, plus what
/// Aspire.Hosting.Testing offers tests: endpoints, HTTP clients, connection strings, <see cref="ResourceNotifications"/>,
/// <see cref="ResourceCommands"/> (start, stop, kill, restart one replica or all) and <see cref="ResourceLogs"/>.
/// Every child is launched through <c>setpriv --pdeathsig</c>, so none outlives the AppHost, even when it is killed.
/// </summary>
public sealed class DistributedApplication : IAsyncDisposable
{
    private readonly Parts? _parts;
    private readonly ManifestPublisher? _publisher;
    private DashboardServer? _dashboard;
    private int _started;
    private int _disposed;

    private DistributedApplication(ResourceCollection resources, Parts? parts, ManifestPublisher? publisher)
    {
        Resources = resources;
        _parts = parts;
        _publisher = publisher;
        var orchestrator = parts?.Orchestrator ?? new Orchestrator(new HostContext(new DistributedApplicationOptions(), ""), []);
        ResourceNotifications = new ResourceNotificationService(orchestrator);
        ResourceCommands = new ResourceCommandService(orchestrator);
        ResourceLogs = new ResourceLoggerService(orchestrator);
    }

    /// <summary>The application's resources.</summary>
    public ResourceCollection Resources { get; }

    /// <summary>Resource states; wait for one to be healthy.</summary>
    public ResourceNotificationService ResourceNotifications { get; }

    /// <summary>Start, stop, kill or restart a resource or one replica.</summary>
    public ResourceCommandService ResourceCommands { get; }

    /// <summary>Resource output.</summary>
    public ResourceLoggerService ResourceLogs { get; }

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

    internal static DistributedApplication Create(IDistributedApplicationBuilder builder) =>
        ManifestPublisher.FromConfiguration(builder.Configuration, builder.Resources) is { } publisher
            // Publish mode (--publisher manifest): no ports, passwords, data folder or processes; Run writes the manifest.
            ? new DistributedApplication(builder.Resources, null, publisher)
            : new DistributedApplication(builder.Resources, ApplicationAssembler.Assemble(builder), null);

    /// <summary>
    /// Starts the dashboard (when enabled), the load balancers and every resource in <c>WaitFor</c> order; returns when all
    /// are healthy. In publish mode (<c>--publisher manifest</c>) it writes the manifest instead and starts nothing.
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
        var parts = _parts!;
        if (parts.Orchestrator.CheckPrerequisites() is { Count: > 0 } problems)
        {
            throw new DistributedApplicationException(string.Join(Environment.NewLine, problems));
        }
        if (parts.Dashboard is { } dashboard)
        {
            await dashboard.StartAsync(cancellationToken).ConfigureAwait(false);
            _dashboard = dashboard;
        }
        foreach (var balancer in parts.Balancers)
        {
            await balancer.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        await parts.Orchestrator.StartAllAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops every resource in reverse dependency order: SIGTERM (SIGINT for PostgreSQL), SIGKILL after <see cref="DistributedApplicationOptions.StopTimeout"/>.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_parts is not { } parts)
        {
            return;
        }
        await parts.Orchestrator.StopAllAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        foreach (var balancer in parts.Balancers)
        {
            await balancer.DisposeAsync().ConfigureAwait(false);
        }
        if (Interlocked.Exchange(ref _dashboard, null) is { } dashboard)
        {
            await dashboard.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Starts everything, prints the replicas, the external URL and the dashboard URL, then blocks until Ctrl+C or SIGTERM
    /// and stops everything. A second Ctrl+C kills what is still running. Exit code 1 when the start failed.
    /// With <c>--publisher manifest</c> it writes the manifest and returns.
    /// </summary>
    public void Run() => RunAsync().GetAwaiter().GetResult();

    /// <summary>As <see cref="Run"/>; <paramref name="cancellationToken"/> also ends it.</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        if (_publisher is not null)
        {
            await StartAsync(cancellationToken).ConfigureAwait(false);
            ConsoleOutput.Info($"Wrote the manifest to {_publisher.OutputPath}");
            return;
        }
        var parts = _parts!;
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
                parts.Orchestrator.KillAllNow();
            }
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        ConsoleOutput.Info($"AiStreaming AppHost: data in {parts.Host.DataRoot}; services from their {parts.Host.ProjectConfiguration} build");
        try
        {
            await StartAsync(stop.Token).ConfigureAwait(false);
            ConsoleSummary.Print(parts.Orchestrator, Resources, DashboardLoginUrl);
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

    /// <summary>Stops everything, the dashboard too, and deletes the data root when <see cref="DistributedApplicationOptions.DeleteDataRootOnDispose"/> is set.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0 || _parts is not { } parts)
        {
            return;
        }
        await StopAsync().ConfigureAwait(false);
        parts.Orchestrator.ReleaseProcesses();
        parts.Http.Dispose();
        // Pooled Npgsql connections of this process to our servers are dead now; drop them so a later fixture starts clean.
        foreach (var server in Resources.OfType<PostgresServerResource>().Where(s => s.ExternalConnectionString is null && s.Endpoint()?.Port is not null))
        {
            foreach (var cs in server.Databases.Select(d => server.BuildConnectionString(d.DatabaseName)).Append(server.BuildConnectionString(null)))
            {
                using var connection = new NpgsqlConnection(cs);
                NpgsqlConnection.ClearPool(connection);
            }
        }
        if (parts.Host.Options.DeleteDataRootOnDispose)
        {
            DataRoot.Delete(parts.Host.DataRoot);
        }
    }

    /// <summary>
    /// The address of a resource or one replica: <c>GetEndpoint("streamer")</c> is the one endpoint consumers use (the load
    /// balancer when it has several replicas), <c>GetEndpoint("streamer-1")</c> that replica directly. <c>http://127.0.0.1:{port}</c>
    /// for a project, <c>tcp://127.0.0.1:{port}</c> for a server. Stable across stop/start/restart.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No resource or replica has that id.</exception>
    public Uri GetEndpoint(string resourceId)
    {
        var orchestrator = _parts?.Orchestrator ?? throw new InvalidOperationException("A published application has no endpoints.");
        if (Resources.TryGet(resourceId, out var resource) && resource.Endpoint() is { Port: not null } endpoint)
        {
            return endpoint.Url;
        }
        var replica = orchestrator.Resolve(resourceId)[0];
        return replica.Owner.Driver.GetEndpoint(replica);
    }

    /// <summary>An <see cref="HttpClient"/> whose base address is <see cref="GetEndpoint"/>. The caller disposes it.</summary>
    public HttpClient CreateHttpClient(string resourceId) => new() { BaseAddress = GetEndpoint(resourceId) };

    /// <summary>The connection string a referencing project gets for <paramref name="resourceName"/> (<c>redis</c>, <c>messages</c>, <c>postgres</c>).</summary>
    /// <exception cref="KeyNotFoundException">No resource has that name.</exception>
    /// <exception cref="InvalidOperationException">The resource has no connection string (e.g. a project).</exception>
    public ValueTask<string?> GetConnectionStringAsync(string resourceName, CancellationToken cancellationToken = default) =>
        Resources[resourceName] is IResourceWithConnectionString resource
            ? resource.GetConnectionStringAsync(cancellationToken)
            : throw new InvalidOperationException($"Resource '{resourceName}' has no connection string.");

    /// <summary>What a built application runs with.</summary>
    internal sealed record Parts(HostContext Host, Orchestrator Orchestrator, DashboardServer? Dashboard, IReadOnlyList<ReplicaBalancer> Balancers, HttpClient Http);
}
