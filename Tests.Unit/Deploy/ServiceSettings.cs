using AiStreaming.Api.Data;
using AiStreaming.Api.Redis;

namespace AiStreaming.Tests.Deploy;

/// <summary>A setting a service cannot start without, and the environment variable names that provide it.</summary>
/// <param name="Key">The configuration key, e.g. <c>ConnectionStrings:redis</c>.</param>
/// <param name="Source">Where the service reads it and fails without it.</param>
/// <param name="EnvironmentNames">Environment variables, any one of which provides the setting.</param>
internal sealed record RequiredSetting(string Key, string Source, params string[] EnvironmentNames);

/// <summary>
/// What each service reads at start and fails without, outside Development: connection strings and service addresses
/// (which the AppHost's manifest provides too), the shared signing key (<c>Auth:SigningKey</c>, validated on start),
/// <c>AllowedHosts</c> (the appsettings.json default admits only loopback names, so the deployed host names would get 400),
/// Web's OpenID Connect client (<c>Oidc</c> section, required outside Development) and Web's Redis (its shared Data
/// Protection key ring). <c>ConnectionStrings:chat</c> is optional (the simulated model runs without it).
/// </summary>
internal static class ServiceSettings
{
    public static readonly IReadOnlyDictionary<string, RequiredSetting[]> Required = new Dictionary<string, RequiredSetting[]>
    {
        ["api"] =
        [
            ConnectionString(DataExtensions.ConnectionName, "Api/Data/DataExtensions.cs"),
            ConnectionString(RedisExtensions.ConnectionName, "Api/Redis/RedisExtensions.cs"),
            SigningKey("ServiceDefaults/AuthenticationExtensions.cs (AuthOptions, ValidateOnStart)"),
            AllowedHosts,
        ],
        ["streamer"] =
        [
            ConnectionString("redis", "Streamer/Extensions/StreamingExtensions.cs"),
            SigningKey("ServiceDefaults/AuthenticationExtensions.cs (AuthOptions, ValidateOnStart)"),
            AllowedHosts,
        ],
        ["web"] =
        [
            Service("api", "Web/Proxy/ServiceEndpoints.cs (StreamingProxyOptionsValidator)"),
            Service("streamer", "Web/Proxy/ServiceEndpoints.cs (StreamingProxyOptionsValidator)"),
            ConnectionString("redis", "Web: Data Protection key ring in Redis, shared by every replica"),
            SigningKey("Web/Security/WebAuthExtensions.cs (AuthOptions, ValidateOnStart)"),
            new("Oidc:Authority", "Web: OpenID Connect sign-in, required outside Development", "Oidc__Authority"),
            new("Oidc:ClientId", "Web: OpenID Connect sign-in", "Oidc__ClientId"),
            new("Oidc:ClientSecret", "Web: OpenID Connect sign-in", "Oidc__ClientSecret"),
            AllowedHosts,
        ],
    };

    /// <summary>Whether the AppHost provides <paramref name="setting"/> as a reference in its manifest (connection strings, service addresses).</summary>
    public static bool IsResourceReference(RequiredSetting setting) =>
        setting.Key.StartsWith("ConnectionStrings:", StringComparison.Ordinal) || setting.Key.StartsWith("services:", StringComparison.Ordinal);

    private static RequiredSetting AllowedHosts =>
        new("AllowedHosts", "ASP.NET Core host filtering (appsettings.json admits only loopback names)", "AllowedHosts");

    private static RequiredSetting SigningKey(string source) => new("Auth:SigningKey", source, "Auth__SigningKey");

    private static RequiredSetting ConnectionString(string name, string source) =>
        new($"ConnectionStrings:{name}", source, $"ConnectionStrings__{name}");

    private static RequiredSetting Service(string name, string source) =>
        new($"services:{name}:http:0", source, $"services__{name}__http__0", $"services__{name}__https__0");
}
