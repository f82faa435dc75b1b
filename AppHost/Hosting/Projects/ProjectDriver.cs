using AiStreaming.AppHost.Hosting.Runtime;

namespace AiStreaming.AppHost.Hosting;

/// <summary>
/// Runs a project's build output, <c>dotnet bin/{Configuration}/{tfm}/{Name}.dll</c>, in the project folder, with the variables
/// Aspire gives a project (URLs, environment, OpenTelemetry, references); healthy when <c>GET /health</c> answers 200.
/// </summary>
internal sealed class ProjectDriver(HostContext host, ProjectResource resource, HttpClient healthClient) : ResourceDriver(host)
{
    public override string Kind => "Project";

    /// <summary>The assembly launched for every replica.</summary>
    public string AssemblyPath => Path.Combine(resource.ProjectDirectory, "bin", Host.ProjectConfiguration, AppHostMetadata.TargetFramework,
        Path.GetFileNameWithoutExtension(resource.ProjectPath) + ".dll");

    public override Uri GetEndpoint(ReplicaRuntime replica) => new($"http://127.0.0.1:{replica.Port}");

    public override IEnumerable<string> CheckPrerequisites()
    {
        if (HostTools.Dotnet is null)
        {
            yield return "The dotnet host was not found on PATH: install the .NET 10 SDK (https://dot.net) or set DOTNET_ROOT.";
        }
        if (!File.Exists(resource.ProjectPath))
        {
            yield return $"Project '{resource.Name}': {resource.ProjectPath} does not exist.";
        }
        else if (!File.Exists(AssemblyPath))
        {
            yield return $"Project '{resource.Name}' has no {Host.ProjectConfiguration} build output at {AssemblyPath}: build first: dotnet build -c {Host.ProjectConfiguration}";
        }
    }

    public override async Task<ProcessSpec> CreateProcessSpecAsync(ReplicaRuntime replica, CancellationToken cancellationToken)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{replica.Port}",
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["OTEL_SERVICE_NAME"] = resource.Name,
            ["OTEL_RESOURCE_ATTRIBUTES"] = $"service.instance.id={replica.DisplayName}",
        };
        if (Host.OtlpEndpoint is { } otlp && Host.OtlpFromEnvironment)
        {
            // The AppHost was pointed at a collector: pass it through; protocol and headers are inherited as they are.
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp;
        }
        else if (Host.OtlpEndpoint is { } dashboard)
        {
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = dashboard;
            env["OTEL_EXPORTER_OTLP_PROTOCOL"] = Host.OtlpProtocol ?? "grpc";
            if (Host.OtlpHeaders is { } headers)
            {
                env["OTEL_EXPORTER_OTLP_HEADERS"] = headers;
            }
            // As Aspire does for local runs: export every second, so the dashboard moves while you watch.
            env["OTEL_BSP_SCHEDULE_DELAY"] = "1000";
            env["OTEL_BLRP_SCHEDULE_DELAY"] = "1000";
            env["OTEL_METRIC_EXPORT_INTERVAL"] = "1000";
        }
        var context = new EnvironmentCallbackContext(resource, replica.Index, env);
        foreach (var annotation in resource.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            await annotation.Callback(context).ConfigureAwait(false);
        }
        return new ProcessSpec(HostTools.Dotnet!, [AssemblyPath], resource.ProjectDirectory) { Environment = env };
    }

    public override async Task<bool> IsHealthyAsync(ReplicaRuntime replica, CancellationToken cancellationToken)
    {
        using var response = await healthClient.GetAsync(new Uri(GetEndpoint(replica), "/health"), cancellationToken).ConfigureAwait(false);
        return response.StatusCode == System.Net.HttpStatusCode.OK;
    }
}
