using AiStreaming.AppHost.Hosting.Balancing;
using AiStreaming.AppHost.Hosting.Dashboard;
using Microsoft.Extensions.Configuration;

namespace AiStreaming.AppHost.Hosting.Runtime;

/// <summary>
/// Turns the built model into a runnable application: the data root, connection strings given from outside, ports for
/// every endpoint (one per replica, plus a balancer's in front of several), each resource's driver from its
/// <see cref="ResourceLifecycleAnnotation"/>, the dashboard and where services export telemetry.
/// </summary>
internal static class ApplicationAssembler
{
    public static DistributedApplication.Parts Assemble(IDistributedApplicationBuilder builder)
    {
        var options = builder.Options;
        var dataRoot = Path.GetFullPath(options.DataRoot ?? DataRoot.Default());
        DataRoot.Create(dataRoot);
        var host = new HostContext(options, dataRoot);
        if (builder.Configuration["AppHost:Configuration"] is { Length: > 0 } configuration && options.ProjectConfiguration is null)
        {
            options.ProjectConfiguration = configuration;
        }

        foreach (var resource in builder.Resources.OfType<Resource>().Where(r => r is IResourceWithConnectionString))
        {
            resource.ExternalConnectionString = builder.Configuration.GetConnectionString(resource.Name) is { Length: > 0 } cs ? cs : null;
        }
        foreach (var resource in builder.Resources)
        {
            AllocatePorts(resource);
        }

        var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var context = new LifecycleContext(host, builder.Resources, http);
        var runtimes = builder.Resources.Select((resource, i) =>
        {
            var lifecycle = resource.Annotations.OfType<ResourceLifecycleAnnotation>().LastOrDefault()
                ?? throw new DistributedApplicationException($"{resource} has no lifecycle: add it with an AddXxx method of this library.");
            var driver = lifecycle.CreateDriver(context);
            var ports = resource.Endpoint()?.TargetPorts is { Count: > 0 } targets ? targets : [0];
            return new ResourceRuntime(resource, driver, i, ports);
        }).ToList();
        var orchestrator = new Orchestrator(host, runtimes);
        var balancers = runtimes
            .Where(r => r.Resource.Endpoint() is { IsProxied: true } && r.Driver.HasProcess)
            .Select(r => new ReplicaBalancer(r, r.Resource.Endpoint()!.Port!.Value))
            .ToList();

        var dashboard = options.DashboardEnabled
            ? new DashboardServer(orchestrator, PortAllocator.GetFreePort(), PortAllocator.GetFreePort())
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
        return new DistributedApplication.Parts(host, orchestrator, dashboard, balancers, http);
    }

    // A requested port goes to the endpoint (the balancer's when proxied, else the first replica's); the rest are free ports.
    private static void AllocatePorts(IResource resource)
    {
        if (resource.Endpoint() is not { } endpoint || resource is Resource { ExternalConnectionString: not null })
        {
            return;
        }
        var replicas = resource.ReplicaCount();
        int Port(int? requested) => requested is { } port ? PortAllocator.Reserve(port) : PortAllocator.GetFreePort();
        var proxied = replicas > 1 && endpoint.Scheme == "http";
        endpoint.TargetPorts = [.. Enumerable.Range(0, replicas).Select(i => Port(i == 0 && !proxied ? endpoint.RequestedPort : null))];
        endpoint.Port = proxied ? Port(endpoint.RequestedPort) : endpoint.TargetPorts[0];
    }
}
