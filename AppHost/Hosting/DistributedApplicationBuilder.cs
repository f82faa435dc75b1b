using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace AiStreaming.AppHost.Hosting;

/// <summary>
/// Collects the application's resources before it runs; same name and meaning as Aspire's.
/// Made by <see cref="DistributedApplication.CreateBuilder(string[])"/> or <see cref="DistributedApplicationTestingBuilder"/>.
/// </summary>
public interface IDistributedApplicationBuilder
{
    /// <summary>
    /// The AppHost's configuration: <c>appsettings.json</c> of the AppHost project, environment variables, command-line arguments.
    /// A connection string found here (<c>ConnectionStrings:redis</c>, <c>ConnectionStrings__messages</c>) replaces the resource of that name:
    /// it is passed through and the server is not started.
    /// </summary>
    ConfigurationManager Configuration { get; }

    /// <summary>The options the application will run with; still changeable until <see cref="Build"/>.</summary>
    DistributedApplicationOptions Options { get; }

    /// <summary>The resources added so far.</summary>
    ResourceCollection Resources { get; }

    /// <summary>Adds a resource.</summary>
    /// <exception cref="InvalidOperationException">A resource with the same name exists.</exception>
    IResourceBuilder<T> AddResource<T>(T resource) where T : IResource;

    /// <summary>A builder for a resource already added, to keep configuring it.</summary>
    IResourceBuilder<T> CreateResourceBuilder<T>(T resource) where T : IResource;

    /// <summary>
    /// Freezes the resources, allocates their ports and passwords, makes each resource's driver from its lifecycle
    /// annotation and returns the application, not yet started.
    /// Under <see cref="DistributedApplicationTestingBuilder"/> the entry point's call hands the builder to the test instead.
    /// </summary>
    /// <exception cref="DistributedApplicationException">The resource graph is invalid (e.g. a <c>WaitFor</c> cycle).</exception>
    DistributedApplication Build();

    /// <summary>As <see cref="Build"/>; the form tests use (<c>await using var app = await builder.BuildAsync();</c>).</summary>
    Task<DistributedApplication> BuildAsync(CancellationToken cancellationToken = default);
}

/// <summary>The builder made by <see cref="DistributedApplication.CreateBuilder(string[])"/>.</summary>
public sealed class DistributedApplicationBuilder : IDistributedApplicationBuilder
{
    private bool _built;

    internal DistributedApplicationBuilder(DistributedApplicationOptions options, TestingHook? testingHook)
    {
        Options = options;
        TestingHook = testingHook;
        Configuration = new ConfigurationManager();
        Configuration.AddJsonFile(Path.Combine(AppHostMetadata.ProjectDirectory, "appsettings.json"), optional: true, reloadOnChange: false);
        Configuration.AddEnvironmentVariables();
        Configuration.AddCommandLine(options.Args);
    }

    /// <inheritdoc />
    public ConfigurationManager Configuration { get; }

    /// <inheritdoc />
    public DistributedApplicationOptions Options { get; }

    /// <inheritdoc />
    public ResourceCollection Resources { get; } = new();

    internal TestingHook? TestingHook { get; private set; }

    /// <inheritdoc />
    public IResourceBuilder<T> AddResource<T>(T resource) where T : IResource
    {
        ThrowIfBuilt();
        Resources.Add(resource);
        return new ResourceBuilder<T>(this, resource);
    }

    /// <inheritdoc />
    public IResourceBuilder<T> CreateResourceBuilder<T>(T resource) where T : IResource
    {
        if (!Resources.Contains(resource))
        {
            throw new InvalidOperationException($"{resource} was not added to this builder.");
        }
        return new ResourceBuilder<T>(this, resource);
    }

    /// <inheritdoc />
    public DistributedApplication Build()
    {
        if (TestingHook is { } hook)
        {
            // The entry point runs inside DistributedApplicationTestingBuilder: hand the builder over and abort the entry point,
            // as Aspire.Hosting.Testing (through HostFactoryResolver) does.
            TestingHook = null;
            hook.HandOver(this);
            throw new TestingHook.StopTheHostException();
        }
        ThrowIfBuilt();
        _built = true;
        return DistributedApplication.Create(this);
    }

    /// <inheritdoc />
    public Task<DistributedApplication> BuildAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(Build());
    }

    private void ThrowIfBuilt()
    {
        if (_built)
        {
            throw new InvalidOperationException("The application was already built; resources can no longer change.");
        }
    }
}

/// <summary>Where the AppHost project was built from, baked into the assembly by <c>AppHost.csproj</c>.</summary>
internal static class AppHostMetadata
{
    private static readonly Dictionary<string, string?> Values = typeof(AppHostMetadata).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .ToDictionary(a => a.Key, a => a.Value);

    /// <summary>The AppHost project folder.</summary>
    public static string ProjectDirectory => Get("AppHostProjectDirectory") ?? AppContext.BaseDirectory;

    /// <summary>The build configuration (Debug, Release).</summary>
    public static string Configuration => Get("AppHostConfiguration") ?? "Debug";

    /// <summary>The target framework moniker (net10.0).</summary>
    public static string TargetFramework => Get("AppHostTargetFramework") ?? "net10.0";

    /// <summary>The repository root: the AppHost project's parent folder.</summary>
    public static string RepositoryRoot => Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(ProjectDirectory))!;

    private static string? Get(string key) => Values.GetValueOrDefault(key) is { Length: > 0 } value ? value : null;
}
