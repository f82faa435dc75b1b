using Microsoft.Extensions.Options;

namespace AiStreaming.Web.Proxy;

/// <summary>
/// Reads the endpoint that Aspire's <c>WithReference</c> injects for a service: <c>services:{name}:{scheme}:0</c>
/// (environment variable <c>services__streamer__http__0=http://127.0.0.1:5123</c>). A service with replicas still
/// has this one endpoint; the balancer behind it picks the replica.
/// </summary>
/// <remarks>
/// Aspire apps often resolve these keys with <c>Microsoft.Extensions.ServiceDiscovery.Yarp</c>
/// (<c>AddServiceDiscoveryDestinationResolver()</c>, destinations written as <c>http://streamer</c>), which resolves
/// them per request and falls back to DNS when a key is missing. Web reads the one key itself instead, so that a
/// missing endpoint fails at start with a message naming the key (<see cref="StreamingProxyOptionsValidator"/>).
/// </remarks>
public static class ServiceEndpoints
{
    // Traffic between our own services stays plain HTTP; https is used only when a service publishes no http
    // endpoint (Aspire publishes both when a project has both).
    private static readonly string[] SchemePreference = ["http", "https"];

    /// <summary>The base URL of service <paramref name="serviceName"/> (index 0 of the first scheme that has one), or null.</summary>
    public static string? Read(IConfiguration configuration, string serviceName)
    {
        var service = configuration.GetSection("services").GetSection(serviceName);
        return SchemePreference
            .Select(scheme => service.GetSection(scheme)["0"]?.Trim())
            .FirstOrDefault(url => !string.IsNullOrEmpty(url));
    }
}

/// <summary>Fails startup with a message that says which key is missing or wrong.</summary>
public sealed class StreamingProxyOptionsValidator : IValidateOptions<StreamingProxyOptions>
{
    /// <summary>Checks that the Api and the streamer each have an absolute http(s) endpoint.</summary>
    public ValidateOptionsResult Validate(string? name, StreamingProxyOptions options)
    {
        var failures = new List<string>();
        Check("api", options.ApiAddress, failures);
        Check("streamer", options.StreamerAddress, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(string service, string? address, List<string> failures)
    {
        if (string.IsNullOrEmpty(address))
        {
            failures.Add(
                $"No endpoint configured for service '{service}': set 'services:{service}:http:0' " +
                $"(environment variable services__{service}__http__0=http://127.0.0.1:PORT), as the AppHost's WithReference({service}) does.");
        }
        else if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            failures.Add($"services:{service}: '{address}' is not an absolute http(s) URL.");
        }
    }
}
