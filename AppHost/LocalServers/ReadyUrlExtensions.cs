using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AiStreaming.AppHost.LocalServers;

/// <summary><c>WithUrlPrintedWhenReady</c>: tells a newcomer where the page is, without the dashboard.</summary>
public static partial class ReadyUrlExtensions
{
    /// <summary>
    /// Once the resource is healthy, logs <c>{name}: {url}</c> for each of its URLs (the AppHost's console shows it).
    /// </summary>
    public static IResourceBuilder<T> WithUrlPrintedWhenReady<T>(this IResourceBuilder<T> builder) where T : IResourceWithEndpoints =>
        builder.OnResourceReady((resource, @event, _) =>
        {
            var logger = @event.Services.GetRequiredService<ILoggerFactory>().CreateLogger("AiStreaming.AppHost");
            foreach (var endpoint in resource.Annotations.OfType<EndpointAnnotation>().Where(e => e.UriScheme is "http" or "https"))
            {
                var reference = resource.GetEndpoint(endpoint.Name);
                LogReadyUrl(logger, resource.Name, reference.Url);
            }
            return Task.CompletedTask;
        });

    [LoggerMessage(Level = LogLevel.Information, Message = "{Resource}: {Url}")]
    private static partial void LogReadyUrl(ILogger logger, string resource, string url);
}
