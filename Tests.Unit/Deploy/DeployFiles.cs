using System.Reflection;
using System.Text.Json;
using Json.Schema;

namespace AiStreaming.Tests.Deploy;

/// <summary>Where the deployment files of the repository are, and schema validation against the vendored schemas.</summary>
internal static class DeployFiles
{
    /// <summary>The repository root (the parent of the AppHost project folder).</summary>
    public static string RepositoryRoot { get; } = Path.GetDirectoryName(Projects.AppHost.ProjectPath)!;

    /// <summary>The <c>infra/</c> folder of Bicep files azd provisions.</summary>
    public static string InfraDirectory => Path.Combine(RepositoryRoot, "infra");

    /// <summary>The Bicep CLI restored by Tests.Unit.csproj's PackageDownload of Azure.Bicep.CommandLine.linux-x64.</summary>
    public static string BicepPath => typeof(DeployFiles).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "BicepPath").Value!;

    /// <summary>
    /// The validation errors of <paramref name="instance"/> against the vendored schema <paramref name="schemaFile"/>
    /// (in Tests.Unit/Deploy/Schemas), one line each: instance location, schema location, message. Empty when valid.
    /// </summary>
    public static IReadOnlyList<string> Validate(string schemaFile, JsonElement instance)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Deploy", "Schemas", schemaFile);
        // A registry of its own per call: the schemas carry absolute $ids, which the global registry would keep across tests.
        var schema = JsonSchema.FromFile(path, new BuildOptions { SchemaRegistry = new SchemaRegistry() });
        var results = schema.Evaluate(instance, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (results.IsValid)
        {
            return [];
        }
        return [.. (results.Details ?? []).Prepend(results)
            .Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} ({d.EvaluationPath}): {e.Key}: {e.Value}"))];
    }
}
