using AiStreaming.AppHost.Hosting;

namespace AiStreaming.Tests.AppHost;

/// <summary>An application of the AppHost library that runs only <c>redis</c>, started and healthy, on a temporary data root removed on dispose.</summary>
internal static class RedisOnlyApp
{
    /// <summary>Builds and starts the application and waits until <c>redis</c> is healthy.</summary>
    /// <param name="name">Names the data root folder (<c>aistreaming-{name}-…</c>).</param>
    /// <param name="args">AppHost arguments, e.g. <c>--Redis:Cluster=true</c>.</param>
    /// <param name="cancellationToken">Bounds the start.</param>
    public static async Task<DistributedApplication> StartAsync(string name, string[] args, CancellationToken cancellationToken)
    {
        var builder = DistributedApplication.CreateBuilder(new DistributedApplicationOptions
        {
            Args = args,
            DashboardEnabled = false,
            ForwardResourceLogsToConsole = false,
            DataRoot = Path.Combine(Path.GetTempPath(), $"aistreaming-{name}-{Guid.NewGuid():N}"),
            DeleteDataRootOnDispose = true,
        });
        builder.AddRedis("redis");
        var app = await builder.BuildAsync();
        try
        {
            await app.StartAsync(cancellationToken);
            await app.ResourceNotifications.WaitForResourceHealthyAsync("redis", cancellationToken);
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }
}
