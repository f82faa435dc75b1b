using System.Text.Json;
using System.Xml.Linq;
using YamlDotNet.RepresentationModel;

namespace AiStreaming.Tests.Deploy;

/// <summary>
/// azure.yaml against azd's published schema (schemas/v1.0/azure.yaml.json, vendored), and the services it deploys: .NET
/// projects whose container images the .NET SDK builds (no Dockerfiles).
/// </summary>
public sealed class AzureYamlTests
{
    private static readonly string[] Services = ["api", "streamer", "web"];

    [Fact]
    public void Azure_yaml_is_valid_against_the_azd_schema()
    {
        Assert.Empty(DeployFiles.Validate("azure.yaml.json", AzureYaml()));
    }

    [Theory]
    [InlineData("name: AiStreaming\nservices:\n  api:\n    project: ./Api\n    host: containerapp\n")]
    [InlineData("name: aistreaming\nservices:\n  api:\n    project: ./Api\n")]
    [InlineData("name: aistreaming\nservices:\n  api:\n    project: ./Api\n    image: nginx\n    host: containerapp\n")]
    public void Schema_rejects_an_invalid_azure_yaml(string yaml)
    {
        // An upper-case name, a service without host, a container app with both project and image.
        Assert.NotEmpty(DeployFiles.Validate("azure.yaml.json", YamlToJson(yaml)));
    }

    [Fact]
    public void Azure_yaml_deploys_each_service_to_container_apps_with_the_repository_infra()
    {
        var yaml = AzureYaml();
        Assert.Equal("bicep", yaml.GetProperty("infra").GetProperty("provider").GetString());
        Assert.True(File.Exists(Path.Combine(DeployFiles.RepositoryRoot, yaml.GetProperty("infra").GetProperty("path").GetString()!, "main.bicep")));
        var services = yaml.GetProperty("services");
        Assert.Equal(Services, services.EnumerateObject().Select(s => s.Name).Order(StringComparer.Ordinal));
        foreach (var service in services.EnumerateObject())
        {
            Assert.Equal("containerapp", service.Value.GetProperty("host").GetString());
            Assert.Equal("dotnet", service.Value.GetProperty("language").GetString());
            var folder = Path.Combine(DeployFiles.RepositoryRoot, service.Value.GetProperty("project").GetString()!);
            Assert.Single(Directory.GetFiles(folder, "*.csproj"));
        }
    }

    [Theory]
    [InlineData("Api")]
    [InlineData("Streamer")]
    [InlineData("Web")]
    public void Service_images_come_from_the_dotnet_sdk_without_a_dockerfile(string project)
    {
        var folder = Path.Combine(DeployFiles.RepositoryRoot, project);
        Assert.Empty(Directory.GetFiles(folder, "Dockerfile*"));
        var csproj = XDocument.Load(Path.Combine(folder, $"{project}.csproj"));
        string? Property(string name) => csproj.Descendants(name).SingleOrDefault()?.Value;
        Assert.Equal($"aistreaming/{project.ToLowerInvariant()}", Property("ContainerRepository"));
        Assert.False(string.IsNullOrWhiteSpace(Property("ContainerFamily")));
        Assert.Contains(csproj.Descendants("ContainerPort"), port => port.Attribute("Include")?.Value == "8080");
    }

    // azure.yaml as JSON: YAML scalars become strings, except true/false and numbers, as a YAML 1.2 core-schema reader reads them.
    private static JsonElement AzureYaml() => YamlToJson(File.ReadAllText(Path.Combine(DeployFiles.RepositoryRoot, "azure.yaml")));

    private static JsonElement YamlToJson(string yaml)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(yaml))
        {
            stream.Load(reader);
        }
        using var document = JsonDocument.Parse(ToJson(stream.Documents[0].RootNode)!.ToJsonString());
        return document.RootElement.Clone();
    }

    private static System.Text.Json.Nodes.JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new System.Text.Json.Nodes.JsonObject(map.Children.Select(c =>
            KeyValuePair.Create(((YamlScalarNode)c.Key).Value!, ToJson(c.Value)))),
        YamlSequenceNode list => new System.Text.Json.Nodes.JsonArray([.. list.Children.Select(ToJson)]),
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain, Value: "true" or "false" } scalar =>
            System.Text.Json.Nodes.JsonValue.Create(scalar.Value == "true"),
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain } scalar when long.TryParse(scalar.Value, out var number) =>
            System.Text.Json.Nodes.JsonValue.Create(number),
        YamlScalarNode scalar => System.Text.Json.Nodes.JsonValue.Create(scalar.Value),
        _ => throw new NotSupportedException($"YAML node {node.NodeType}"),
    };
}
