using System.Globalization;
using Microsoft.Extensions.Options;

namespace AiStreaming.Web.Proxy;

/// <summary>
/// Reads the endpoints that Aspire's <c>WithReference</c> injects: <c>services:{name}:{scheme}:{index}</c>
/// (environment variables <c>services__api__http__0=http://127.0.0.1:5123</c>, one index per replica).
/// </summary>
/// <remarks>
/// Aspire pairs this configuration with <c>Microsoft.Extensions.ServiceDiscovery.Yarp</c>
/// (<c>AddServiceDiscoveryDestinationResolver()</c>, destinations written as <c>http://streamer</c>).
/// That package cannot be restored here, so the proxy reads the same keys itself; swapping to it later
/// changes only how <see cref="StreamingProxyConfig"/> names its destinations.
/// </remarks>
public static class ServiceEndpoints
{
    // Loopback traffic between our own services stays plain HTTP; https is used only when a
    // service publishes no http endpoint (Aspire publishes both when a project has both).
    private static readonly string[] SchemePreference = ["http", "https"];

    /// <summary>
    /// The base URLs of service <paramref name="serviceName"/>, ordered by replica index,
    /// from the first scheme in (http, https) that has any; empty when none is configured.
    /// </summary>
    public static IReadOnlyList<string> Read(IConfiguration configuration, string serviceName)
    {
        var service = configuration.GetSection("services").GetSection(serviceName);
        foreach (var scheme in SchemePreference)
        {
            var urls = service.GetSection(scheme).GetChildren()
                .OrderBy(entry => int.TryParse(entry.Key, NumberStyles.None, CultureInfo.InvariantCulture, out var index) ? index : int.MaxValue)
                .ThenBy(entry => entry.Key, StringComparer.Ordinal)
                .Select(entry => entry.Value?.Trim())
                .OfType<string>()
                .Where(url => url.Length > 0)
                .ToList();
            if (urls.Count > 0)
            {
                return urls;
            }
        }

        return [];
    }
}

/// <summary>Fails startup with a message that says which key is missing or wrong.</summary>
public sealed class StreamingProxyOptionsValidator : IValidateOptions<StreamingProxyOptions>
{
    /// <summary>Checks that the Api and the streamer have absolute http(s) endpoints and the health probe settings fit together.</summary>
    public ValidateOptionsResult Validate(string? name, StreamingProxyOptions options)
    {
        var failures = new List<string>();
        CheckDestinations("api", options.ApiDestinations, failures);
        CheckDestinations("streamer", options.StreamerDestinations, failures);

        if (options.HealthCheckTimeout >= options.HealthCheckInterval)
        {
            failures.Add($"{StreamingProxyOptions.SectionName}:{nameof(options.HealthCheckTimeout)} ({options.HealthCheckTimeout}) must be shorter than {nameof(options.HealthCheckInterval)} ({options.HealthCheckInterval}).");
        }

        if (!options.HealthCheckPath.StartsWith('/'))
        {
            failures.Add($"{StreamingProxyOptions.SectionName}:{nameof(options.HealthCheckPath)} must start with '/' (got '{options.HealthCheckPath}').");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckDestinations(string service, List<string> destinations, List<string> failures)
    {
        if (destinations.Count == 0)
        {
            failures.Add(
                $"No endpoint configured for service '{service}': set 'services:{service}:http:0' " +
                $"(environment variable services__{service}__http__0=http://127.0.0.1:PORT, one index per replica), " +
                $"as the AppHost's WithReference({service}) does.");
        }

        foreach (var destination in destinations)
        {
            if (!Uri.TryCreate(destination, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                failures.Add($"services:{service}: '{destination}' is not an absolute http(s) URL.");
            }
        }
    }
}
