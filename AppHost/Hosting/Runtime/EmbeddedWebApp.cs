using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AiStreaming.AppHost.Hosting.Runtime;

/// <summary>
/// The web servers the AppHost runs inside its own process (the dashboard, the balancer in front of replicas): slim
/// builders with no configuration or logging of their own and a host lifetime that ignores Ctrl+C and SIGTERM, which
/// the AppHost owns (it stops them itself, after the resources).
/// </summary>
internal static class EmbeddedWebApp
{
    /// <summary>A slim builder named <paramref name="applicationName"/>; the caller adds services and its Kestrel listeners.</summary>
    /// <param name="applicationName">Application name, e.g. <c>AiStreaming.AppHost.Dashboard</c>.</param>
    public static WebApplicationBuilder CreateBuilder(string applicationName)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = applicationName,
            EnvironmentName = Environments.Production,
            ContentRootPath = AppContext.BaseDirectory,
        });
        // The bin folder holds the projects' appsettings.json (copied with their build output): none of it is ours.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IHostLifetime, NoHostLifetime>();
        return builder;
    }

    /// <summary>Stops and disposes <paramref name="app"/>, waiting at most <paramref name="timeout"/> for open requests.</summary>
    public static async Task StopAsync(WebApplication app, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await app.StopAsync(cts.Token).ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class NoHostLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
