using AiStreaming.AppHost.Hosting.Runtime;

namespace AiStreaming.AppHost.Hosting;

/// <summary>
/// A database has no process: it is as available as its server (healthy with it; stopped, killed or exited with it;
/// waiting while it starts). The server's driver creates it when the server becomes healthy.
/// </summary>
internal sealed class DatabaseDriver(HostContext host, PostgresServerResource server) : ResourceDriver(host)
{
    public override string Kind => "Database";

    public override bool HasProcess => false;

    public override Uri GetEndpoint(ReplicaRuntime replica) =>
        server.Endpoint()!.Port is { } port ? new($"tcp://127.0.0.1:{port}") : new($"external://{server.Name}");

    public override void Initialize(ResourceRuntime self, Func<IResource, ResourceRuntime> runtimeOf)
    {
        var serverRuntime = runtimeOf(server);
        if (!serverRuntime.Driver.HasProcess)
        {
            return;
        }
        serverRuntime.ReplicaStateChanged += replica =>
        {
            var mirror = self.Replicas[0];
            var state = replica.State switch
            {
                ResourceState.Starting or ResourceState.Running => ResourceState.Waiting,
                var s => s,
            };
            if (mirror.State != ResourceState.NotStarted && mirror.State != state)
            {
                mirror.SetState(state);
            }
        };
    }

    public override Task<ProcessSpec> CreateProcessSpecAsync(ReplicaRuntime replica, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public override Task<bool> IsHealthyAsync(ReplicaRuntime replica, CancellationToken cancellationToken) => Task.FromResult(true);
}
