using System.Text.Json;
using System.Text.Json.Nodes;

namespace AiStreaming.Tests.Deploy;

/// <summary>
/// The Bicep under infra/ compiles with the Bicep CLI without errors or warnings (linter included), and the compiled
/// templates give each app the replicas, scaling, affinity, ingress and settings the services need.
/// </summary>
[Collection(BicepCollection.Name)]
public sealed class BicepTests(BicepFixture bicep) : IClassFixture<BicepFixture>
{
    [Fact]
    public void Every_bicep_file_compiles_without_errors_or_warnings()
    {
        Assert.True(bicep.Diagnostics.Count == 0, string.Join(Environment.NewLine, bicep.Diagnostics));
        Assert.Equal(0, bicep.ExitCode);
        Assert.Contains("main.bicep", bicep.Sources);
        Assert.All(bicep.Sources, source => Assert.True(JsonNode.Parse(bicep.ReadCompiled(source)) is JsonObject, source));
    }

    [Fact]
    public void Api_and_streamer_keep_at_least_two_replicas_by_default()
    {
        var parameters = JsonNode.Parse(bicep.ReadCompiled("main.bicep"))!["parameters"]!;
        Assert.True(parameters["apiMinReplicas"]!["defaultValue"]!.GetValue<int>() >= 2);
        Assert.True(parameters["streamerMinReplicas"]!["defaultValue"]!.GetValue<int>() >= 2);
    }

    [Fact]
    public void Streamer_has_session_affinity_and_a_concurrent_connections_scale_rule()
    {
        var streamer = AppModule("streamer");
        Assert.True(streamer["stickySessions"]!["value"]!.GetValue<bool>());
        Assert.False(streamer["external"]!["value"]!.GetValue<bool>());
        var app = bicep.ReadCompiled("app/container-app.bicep");
        Assert.Contains("'sticky'", app, StringComparison.Ordinal);
        Assert.Contains("\"concurrentRequests\"", app, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_web_has_external_ingress()
    {
        Assert.True(AppModule("web")["external"]!["value"]!.GetValue<bool>());
        Assert.False(AppModule("api")["external"]!["value"]!.GetValue<bool>());
    }

    [Fact]
    public void Infra_gives_each_app_every_setting_it_reads_at_start()
    {
        foreach (var (service, settings) in ServiceSettings.Required)
        {
            var env = AppModule(service)["env"]!.ToJsonString();
            foreach (var setting in settings)
            {
                Assert.True(setting.EnvironmentNames.Any(name => env.Contains(name, StringComparison.Ordinal)),
                    $"infra/resources.bicep gives app '{service}' none of {string.Join(", ", setting.EnvironmentNames)} ({setting.Key}, read in {setting.Source}).");
            }
        }
    }

    [Fact]
    public void Secrets_reach_the_apps_as_key_vault_references_not_values()
    {
        foreach (var service in new[] { "api", "streamer", "web" })
        {
            var module = AppModule(service);
            Assert.Contains("secretRef", module["env"]!.ToJsonString(), StringComparison.Ordinal);
            Assert.Contains("keyVaultUrl", module["secrets"]!.ToJsonString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Web_gets_the_signing_key_and_its_oidc_client_secret_from_key_vault()
    {
        var web = AppModule("web");
        var env = web["env"]!.ToJsonString();
        var secrets = web["secrets"]!.ToJsonString();
        Assert.Contains("jwt-signing-key", secrets, StringComparison.Ordinal);
        Assert.Contains("oidc-client-secret", secrets, StringComparison.Ordinal);
        Assert.Contains("redis-connection-string", secrets, StringComparison.Ordinal);
        Assert.Contains("\"secretRef\":\"oidc-client-secret\"", env, StringComparison.Ordinal);
        var main = JsonNode.Parse(bicep.ReadCompiled("main.bicep"))!["parameters"]!;
        Assert.Equal("securestring", main["oidcClientSecret"]!["type"]!.GetValue<string>());
        Assert.Null(main["oidcAuthority"]!["defaultValue"]); // no default authority: an operator must name one
    }

    [Fact]
    public void Only_the_public_app_believes_forwarded_headers_from_any_peer()
    {
        var app = bicep.ReadCompiled("app/container-app.bicep");
        Assert.Contains("ASPNETCORE_FORWARDEDHEADERS_ENABLED", app, StringComparison.Ordinal);
        Assert.Contains("parameters('external')", app[..app.IndexOf("ASPNETCORE_FORWARDEDHEADERS_ENABLED", StringComparison.Ordinal)][^200..], StringComparison.Ordinal);
    }

    // The parameters resources.bicep passes to app/container-app.bicep for one app (the deployment named app-{name}).
    private JsonObject AppModule(string name)
    {
        var resources = JsonNode.Parse(bicep.ReadCompiled("resources.bicep"))!["resources"]!;
        var deployments = resources is JsonObject map ? map.Select(p => p.Value!) : resources.AsArray().Select(r => r!);
        var module = deployments.Single(r => r["type"]?.GetValue<string>() == "Microsoft.Resources/deployments"
            && r["name"]?.GetValue<string>() == $"app-{name}");
        return module["properties"]!["parameters"]!.AsObject();
    }
}
