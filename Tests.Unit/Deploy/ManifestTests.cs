using System.Text.Json;
using Aspire.Hosting.Testing;

namespace AiStreaming.Tests.Deploy;

/// <summary>
/// The manifest Aspire's own publisher writes for azd: <c>dotnet run --project AppHost -- --publisher manifest
/// --output-path …</c>, run in-process through Aspire.Hosting.Testing with the same arguments (publish mode: nothing is
/// started). In publish mode Redis and PostgreSQL are Aspire's container resources (<c>AddRedis</c>, <c>AddPostgres</c>),
/// not the local executables of run mode. The manifest is checked against Aspire's published schema (aspire-8.0.json, vendored).
/// </summary>
public sealed class ManifestTests(ManifestFixture published) : IClassFixture<ManifestFixture>
{
    private readonly string _folder = published.Folder;
    private readonly JsonElement _manifest = published.Manifest;

    [Fact]
    public void Manifest_is_valid_against_the_aspire_8_schema()
    {
        Assert.Empty(DeployFiles.Validate("aspire-8.0.json", _manifest));
    }

    [Fact]
    public void Schema_rejects_what_aspire_does_not_define()
    {
        // The schema forbids unknown properties on known types: a replica count on a project is one (infra/ sets replicas).
        using var document = JsonDocument.Parse("""
            { "resources": { "api": { "type": "project.v0", "path": "../Api/Api.csproj", "replicas": 2 } } }
            """);
        Assert.NotEmpty(DeployFiles.Validate("aspire-8.0.json", document.RootElement));
    }

    [Fact]
    public void Redis_and_PostgreSQL_are_Aspire_containers_and_the_services_projects()
    {
        var types = Resources().ToDictionary(r => r.Name, r => r.Value.GetProperty("type").GetString());
        Assert.Equal("container.v0", types["redis"]);
        Assert.Equal("container.v0", types["postgres"]);
        Assert.Equal("value.v0", types["messages"]);
        Assert.All(new[] { "redis-password", "postgres-password", "auth-signing-key" }, name => Assert.Equal("parameter.v0", types[name]));
        Assert.All(new[] { "api", "streamer", "web" }, name => Assert.Equal("project.v0", types[name]));
        // Run mode's local servers are not deployed: no cluster nodes, no initdb, no executables.
        Assert.DoesNotContain(types, t => t.Key.StartsWith("redis-node", StringComparison.Ordinal) || t.Key == "postgres-init" || t.Value == "executable.v0");
    }

    [Fact]
    public void Passwords_are_generated_secrets_referenced_by_the_connection_strings()
    {
        foreach (var server in new[] { "redis", "postgres" })
        {
            var input = Input($"{server}-password");
            Assert.True(input.GetProperty("secret").GetBoolean());
            Assert.True(input.GetProperty("default").GetProperty("generate").GetProperty("minLength").GetInt32() >= 22);
            Assert.Contains($"{{{server}-password.value}}", Resource(server).GetProperty("connectionString").GetString(), StringComparison.Ordinal);
        }
        Assert.Equal("{postgres.connectionString};Database=messages", Resource("messages").GetProperty("connectionString").GetString());
    }

    [Fact]
    public void Every_service_gets_the_signing_key_a_generated_secret_of_64_characters()
    {
        var input = Input("auth-signing-key");
        Assert.True(input.GetProperty("secret").GetBoolean());
        Assert.Equal(64, input.GetProperty("default").GetProperty("generate").GetProperty("minLength").GetInt32());
        foreach (var service in new[] { "api", "streamer", "web" })
        {
            Assert.Equal("{auth-signing-key.value}", Resource(service).GetProperty("env").GetProperty("Auth__SigningKey").GetString());
        }
    }

    [Fact]
    public void Project_paths_are_relative_to_the_manifest_and_name_existing_projects()
    {
        foreach (var name in new[] { "api", "streamer", "web" })
        {
            var path = Resource(name).GetProperty("path").GetString()!;
            Assert.False(Path.IsPathRooted(path), path);
            Assert.True(File.Exists(Path.GetFullPath(path, _folder)), path);
        }
    }

    [Fact]
    public void Only_web_is_reachable_from_outside()
    {
        foreach (var (name, external) in new[] { ("api", false), ("streamer", false), ("web", true) })
        {
            foreach (var binding in Resource(name).GetProperty("bindings").EnumerateObject())
            {
                Assert.Equal(external, binding.Value.TryGetProperty("external", out var value) && value.GetBoolean());
            }
        }
    }

    [Fact]
    public void Manifest_provides_every_setting_each_service_reads_at_start()
    {
        foreach (var (service, settings) in ServiceSettings.Required)
        {
            var env = Resource(service).GetProperty("env");
            foreach (var setting in settings.Where(ServiceSettings.IsResourceReference))
            {
                var provided = setting.EnvironmentNames.Where(n => env.TryGetProperty(n, out _)).ToList();
                Assert.True(provided.Count > 0, $"{service} reads {setting.Key} at start ({setting.Source}); the manifest sets none of {string.Join(", ", setting.EnvironmentNames)}.");
                foreach (var name in provided)
                {
                    var value = env.GetProperty(name).GetString()!;
                    Assert.Matches(@"\{[a-z][a-z0-9-]*\.(connectionString|bindings\.https?\.url)\}", value);
                    var target = value[1..value.IndexOf('.', StringComparison.Ordinal)];
                    Assert.True(_manifest.GetProperty("resources").TryGetProperty(target, out _), $"{service}: {name} refers to a missing resource '{target}'.");
                }
            }
        }
    }

    private IEnumerable<(string Name, JsonElement Value)> Resources() =>
        _manifest.GetProperty("resources").EnumerateObject().Select(p => (p.Name, p.Value));

    private JsonElement Resource(string name) => _manifest.GetProperty("resources").GetProperty(name);

    private JsonElement Input(string parameter) => Resource(parameter).GetProperty("inputs").GetProperty("value");
}

/// <summary>The manifest published once for <see cref="ManifestTests"/>, in a temporary folder removed afterwards.</summary>
public sealed class ManifestFixture : IAsyncLifetime
{
    /// <summary>The folder holding <c>aspire-manifest.json</c> (project paths in it are relative to this folder).</summary>
    public string Folder { get; } = Directory.CreateTempSubdirectory("aistreaming-manifest-").FullName;

    /// <summary>The manifest's root object.</summary>
    public JsonElement Manifest { get; private set; }

    /// <summary>Publishes the manifest the way <c>dotnet run --project AppHost -- --publisher manifest --output-path …</c> does.</summary>
    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var path = Path.Combine(Folder, "aspire-manifest.json");
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            ["--publisher", "manifest", "--output-path", path], cts.Token);
        await using var app = await builder.BuildAsync(cts.Token);
        await app.RunAsync(cts.Token);
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(path, cts.Token));
        Manifest = document.RootElement.Clone();
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Folder, recursive: true);
        return Task.CompletedTask;
    }
}
