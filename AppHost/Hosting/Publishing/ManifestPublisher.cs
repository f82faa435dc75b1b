using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;

namespace AiStreaming.AppHost.Hosting.Publishing;

/// <summary>
/// Writes the application model as an Aspire deployment manifest, the file deployment tools (azd, Aspirate) read:
/// <c>dotnet run --project AppHost -- --publisher manifest --output-path aspire-manifest.json</c>.
/// </summary>
/// <remarks>
/// The format is Aspire's, schema <c>https://json.schemastore.org/aspire-8.0.json</c>
/// (https://learn.microsoft.com/dotnet/aspire/deployment/manifest-format), with the shapes Aspire's own
/// <c>AddRedis</c>, <c>AddPostgres</c>/<c>AddDatabase</c> and <c>AddProject</c> write: servers as <c>container.v0</c>
/// with a generated <c>parameter.v0</c> password, a database as <c>value.v0</c>, projects as <c>project.v0</c> whose
/// <c>env</c> holds expressions such as <c>{redis.connectionString}</c> and <c>{streamer.bindings.http.url}</c> that the
/// deployment tool resolves. Nothing is started, no port or password is allocated and no data folder is created.
/// <para>
/// The schema has no replica count for projects (<c>project.v0</c>/<c>project.v1</c> allow no other properties), so
/// <c>WithReplicas</c> is not in the manifest; <c>infra/</c> sets the replica counts for Azure Container Apps.
/// </para>
/// </remarks>
public sealed class ManifestPublisher
{
    /// <summary>The <c>--publisher</c> value that selects this publisher.</summary>
    public const string PublisherName = "manifest";

    /// <summary>The file name used when <c>--output-path</c> is absent or names a folder.</summary>
    public const string DefaultFileName = "aspire-manifest.json";

    /// <summary>The schema the manifest declares and follows.</summary>
    public const string SchemaUrl = "https://json.schemastore.org/aspire-8.0.json";

    private static readonly JsonSerializerOptions WriteOptions = new() { WriteIndented = true };

    private readonly ResourceCollection _resources;

    private ManifestPublisher(ResourceCollection resources, string outputPath)
    {
        _resources = resources;
        OutputPath = outputPath;
    }

    /// <summary>The absolute path of the manifest file to write.</summary>
    public string OutputPath { get; }

    /// <summary>
    /// The publisher asked for by the configuration (<c>--publisher manifest --output-path PATH</c>, read like Aspire's
    /// <c>Publishing:Publisher</c>/<c>Publishing:OutputPath</c> too), or null when no publisher was asked for: then the
    /// application runs. A relative output path is taken from the current directory; a folder gets <see cref="DefaultFileName"/>.
    /// </summary>
    /// <exception cref="DistributedApplicationException">Another publisher than <c>manifest</c> was asked for.</exception>
    public static ManifestPublisher? FromConfiguration(IConfiguration configuration, ResourceCollection resources)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var publisher = configuration["publisher"] ?? configuration["Publishing:Publisher"];
        if (string.IsNullOrWhiteSpace(publisher))
        {
            return null;
        }
        if (!string.Equals(publisher, PublisherName, StringComparison.OrdinalIgnoreCase))
        {
            throw new DistributedApplicationException($"Unknown publisher '{publisher}': the AppHost knows '{PublisherName}'.");
        }
        var path = Path.GetFullPath(configuration["output-path"] ?? configuration["Publishing:OutputPath"] ?? DefaultFileName);
        if (Directory.Exists(path) || Path.EndsInDirectorySeparator(path))
        {
            path = Path.Combine(path, DefaultFileName);
        }
        return new ManifestPublisher(resources, path);
    }

    /// <summary>Writes the manifest to <see cref="OutputPath"/> (UTF-8, indented), creating its folder if needed.</summary>
    /// <exception cref="NotSupportedException">A resource type has no manifest form.</exception>
    public async Task WriteAsync(CancellationToken cancellationToken = default)
    {
        var manifest = Build(_resources, Path.GetDirectoryName(OutputPath)!);
        Directory.CreateDirectory(Path.GetDirectoryName(OutputPath)!);
        await File.WriteAllTextAsync(OutputPath, manifest.ToJsonString(WriteOptions) + "\n", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The manifest of <paramref name="resources"/>: <c>{ "$schema": …, "resources": { name: resource, … } }</c>, resources in the
    /// order they were added, each followed by the parameters it introduces. Project paths are relative to <paramref name="manifestDirectory"/>.
    /// </summary>
    /// <exception cref="NotSupportedException">A resource type has no manifest form.</exception>
    public static JsonObject Build(ResourceCollection resources, string manifestDirectory)
    {
        ArgumentNullException.ThrowIfNull(resources);
        var entries = new JsonObject();
        foreach (var resource in resources)
        {
            foreach (var (name, entry) in ManifestResources.Describe(resource, manifestDirectory))
            {
                entries[name] = entry;
            }
        }
        return new JsonObject
        {
            ["$schema"] = SchemaUrl,
            ["resources"] = entries,
        };
    }
}
