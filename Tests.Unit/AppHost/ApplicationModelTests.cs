using AiStreaming.AppHost.Hosting;

namespace AiStreaming.Tests.AppHost;

/// <summary>The AppHost's application model as <c>Program.cs</c> builds it: annotations, one endpoint per resource, Projects metadata.</summary>
public sealed class ApplicationModelTests
{
    [Fact]
    public async Task Program_records_WaitFor_and_references_as_annotations_and_runs_two_replicas_of_api_and_streamer()
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>();
        var web = builder.Resources["web"];
        Assert.Equal(["api", "streamer"], web.WaitsFor().Select(r => r.Name));
        Assert.Equal(["api", "streamer"], web.References().Select(r => r.Name));
        Assert.Equal(2, builder.Resources["api"].ReplicaCount());
        Assert.Equal(2, builder.Resources["streamer"].ReplicaCount());
        Assert.Contains(builder.Resources["messages"].Annotations.OfType<ResourceRelationshipAnnotation>(), a => a.Type == "Parent" && a.Resource.Name == "postgres");
        Assert.EndsWith("Api/Api.csproj", ((ProjectResource)builder.Resources["api"]).ProjectPath, StringComparison.Ordinal);
        Assert.True(File.Exists(new Projects.AppHost().ProjectPath));
    }

    [Fact]
    public async Task Consumers_of_a_replicated_project_get_one_endpoint_the_balancer_not_the_replicas()
    {
        var builder = DistributedApplication.CreateBuilder(new DistributedApplicationOptions
        {
            DashboardEnabled = false,
            DataRoot = Path.Combine(Path.GetTempPath(), $"aistreaming-model-{Guid.NewGuid():N}"),
            DeleteDataRootOnDispose = true,
        });
        var streamer = builder.AddProject<Projects.Streamer>("streamer").WithReplicas(3);
        var web = builder.AddProject<Projects.Web>("web").WithReference(streamer);
        await using var app = await builder.BuildAsync();

        var env = new Dictionary<string, string>();
        foreach (var callback in web.Resource.Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            await callback.Callback(new EnvironmentCallbackContext(web.Resource, 0, env));
        }
        var endpoint = streamer.Resource.Endpoint()!;
        Assert.Equal(3, endpoint.TargetPorts.Count);
        Assert.True(endpoint.IsProxied);
        Assert.Equal($"http://127.0.0.1:{endpoint.Port}", Assert.Single(env, kv => kv.Key.StartsWith("services__streamer__", StringComparison.Ordinal)).Value);
        Assert.DoesNotContain(endpoint.Port!.Value, endpoint.TargetPorts);
        Assert.Equal(endpoint.Url, app.GetEndpoint("streamer"));
        Assert.Equal(new Uri($"http://127.0.0.1:{endpoint.TargetPorts[2]}"), app.GetEndpoint("streamer-2"));
    }
}
