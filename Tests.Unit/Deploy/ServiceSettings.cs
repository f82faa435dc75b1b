using AiStreaming.Api.Data;
using AiStreaming.Api.Redis;

namespace AiStreaming.Tests.Deploy;

/// <summary>A setting a service cannot start without, and the environment variable names that provide it.</summary>
/// <param name="Key">The configuration key, e.g. <c>ConnectionStrings:redis</c>.</param>
/// <param name="Source">Where the service reads it and fails without it.</param>
/// <param name="EnvironmentNames">Environment variables, any one of which provides the setting.</param>
internal sealed record RequiredSetting(string Key, string Source, params string[] EnvironmentNames);

/// <summary>
/// What each service reads at start and fails without; every option with a [Required] attribute has a default, and
/// <c>ConnectionStrings:chat</c> is optional (the simulated model runs without it).
/// </summary>
internal static class ServiceSettings
{
    public static readonly IReadOnlyDictionary<string, RequiredSetting[]> Required = new Dictionary<string, RequiredSetting[]>
    {
        ["api"] =
        [
            ConnectionString(DataExtensions.ConnectionName, "Api/Data/DataExtensions.cs"),
            ConnectionString(RedisExtensions.ConnectionName, "Api/Redis/RedisExtensions.cs"),
        ],
        ["streamer"] =
        [
            ConnectionString("redis", "Streamer/Extensions/StreamingExtensions.cs"),
        ],
        ["web"] =
        [
            Service("api", "Web/Proxy/ServiceEndpoints.cs (StreamingProxyOptionsValidator)"),
            Service("streamer", "Web/Proxy/ServiceEndpoints.cs (StreamingProxyOptionsValidator)"),
        ],
    };

    private static RequiredSetting ConnectionString(string name, string source) =>
        new($"ConnectionStrings:{name}", source, $"ConnectionStrings__{name}");

    private static RequiredSetting Service(string name, string source) =>
        new($"services:{name}:http:0", source, $"services__{name}__http__0", $"services__{name}__https__0");
}
