using AiStreaming.Api.Generation;

namespace AiStreaming.Tests.Api.Generation;

/// <summary>The Api instance id that fences generation ownership (<see cref="ApiInstance"/>).</summary>
public class ApiInstanceTests
{
    [Fact]
    public void The_id_starts_with_the_OpenTelemetry_service_instance_id_and_the_process_id()
    {
        var instance = ApiInstance.Create("service.name=api, service.instance.id=api%2D1 ,deployment.environment=dev");

        Assert.Matches($"^api-1:{Environment.ProcessId}:[0-9a-f]{{6}}$", instance.Id);
    }

    [Fact]
    public void Without_a_service_instance_id_the_id_starts_with_the_machine_name()
    {
        Assert.Matches($"^{System.Text.RegularExpressions.Regex.Escape(Environment.MachineName)}:{Environment.ProcessId}:[0-9a-f]{{6}}$", ApiInstance.Create(null).Id);
        Assert.StartsWith(Environment.MachineName + ":", ApiInstance.Create("service.instance.id=").Id, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_start_of_the_same_replica_gets_a_new_id()
    {
        // A restarted replica must not inherit its predecessor's leases.
        Assert.NotEqual(ApiInstance.Create("service.instance.id=api-1").Id, ApiInstance.Create("service.instance.id=api-1").Id);
    }
}
