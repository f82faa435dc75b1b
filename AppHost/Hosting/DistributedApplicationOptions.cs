namespace AiStreaming.AppHost.Hosting;

/// <summary>
/// How a <see cref="DistributedApplication"/> runs: where its data lives, whether the dashboard runs, timeouts.
/// Pass it to <see cref="DistributedApplication.CreateBuilder(DistributedApplicationOptions)"/>, or tweak it in the
/// callback of <see cref="DistributedApplicationTestingBuilder"/>.
/// </summary>
public sealed class DistributedApplicationOptions
{
    /// <summary>Command-line arguments, read as configuration (e.g. <c>--ConnectionStrings:redis=host:6379</c>).</summary>
    public string[] Args { get; set; } = [];

    /// <summary>
    /// The folder for server data (<c>postgres/</c>, <c>redis/</c>, <c>postgres.password</c>). Null means
    /// <c>{repository root}/.data</c> for <c>dotnet run</c>; the testing builder makes a fresh temporary folder instead.
    /// When running as root the folder and its ancestors must be enterable by the <c>postgres</c> user.
    /// </summary>
    public string? DataRoot { get; set; }

    /// <summary>Delete <see cref="DataRoot"/> when the application is disposed (the testing builder sets this for the temporary folder it makes).</summary>
    public bool DeleteDataRootOnDispose { get; set; }

    /// <summary>Run the built-in dashboard and its OTLP receiver (on by default; the testing builder turns it off).</summary>
    public bool DashboardEnabled { get; set; } = true;


    /// <summary>How projects export to the dashboard: <c>grpc</c> (the default, as Aspire) to its HTTP/2 port, or <c>http/protobuf</c>
    /// to its page's port. Ignored when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set for the AppHost (then that collector gets it all).</summary>
    public string DashboardOtlpProtocol { get; set; } = "grpc";

    /// <summary>Copy every resource's output to the console prefixed with <c>[name-replica]</c> (on by default; the testing builder turns it off).
    /// The last lines are kept either way (<see cref="DistributedApplication.ResourceLogs"/>).</summary>
    public bool ForwardResourceLogsToConsole { get; set; } = true;


    /// <summary>How long a resource may take from launch to healthy before start fails.</summary>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a graceful stop (SIGTERM, or SIGINT for PostgreSQL) may take before the process is killed.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The build configuration whose output projects are launched from (<c>bin/{ProjectConfiguration}/…</c>). Null means the
    /// AppHost configuration's <c>AppHost:Configuration</c>, else the AppHost's own build: Debug under <c>dotnet run --project AppHost</c>,
    /// Release under <c>dotnet run -c Release --project AppHost</c> (<c>./scripts/run.sh --release</c>).
    /// </summary>
    public string? ProjectConfiguration { get; set; }
}
