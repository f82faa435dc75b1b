using AiStreaming.AppHost.Hosting.Runtime;

namespace AiStreaming.AppHost.Hosting;

/// <summary>
/// Names a project, as Aspire's <c>IProjectMetadata</c>: the <c>Projects.Api</c>, <c>Projects.Streamer</c>, <c>Projects.Web</c>
/// and <c>Projects.AppHost</c> types are generated from the AppHost's <c>ProjectReference</c> items by
/// <c>AppHost/build/ProjectMetadata.targets</c>.
/// </summary>
public interface IProjectMetadata
{
    /// <summary>The absolute path of the <c>.csproj</c>.</summary>
    string ProjectPath { get; }
}

/// <summary>
/// A .NET project of this repository, launched from its build output (<c>dotnet {dir}/bin/{Configuration}/{tfm}/{Name}.dll</c>,
/// working directory = the project folder) once per replica, each replica on its own loopback port
/// (<c>ASPNETCORE_URLS</c>), behind one endpoint. Healthy when <c>GET /health</c> answers 200.
/// </summary>
/// <param name="name">The resource name; referencing projects get <c>services__{name}__http__0</c>.</param>
/// <param name="projectPath">The absolute path of the <c>.csproj</c>.</param>
public sealed class ProjectResource(string name, string projectPath)
    : Resource(name), IResourceWithEnvironment, IResourceWithServiceDiscovery, IResourceWithWaitSupport
{
    /// <summary>The absolute path of the <c>.csproj</c>.</summary>
    public string ProjectPath { get; } = projectPath;

    /// <summary>The project folder, used as the working directory so <c>appsettings.json</c> and <c>wwwroot</c> are found.</summary>
    public string ProjectDirectory => Path.GetDirectoryName(ProjectPath)!;
}

/// <summary><c>AddProject&lt;Projects.Api&gt;("api")</c>, as Aspire's.</summary>
public static class ProjectResourceBuilderExtensions
{
    /// <summary>Adds a .NET project, launched from its build output, with one <c>http</c> endpoint.</summary>
    /// <typeparam name="TProject">A generated <c>Projects.*</c> type naming the project.</typeparam>
    /// <param name="builder">The application builder.</param>
    /// <param name="name">The resource name (and service discovery name).</param>
    public static IResourceBuilder<ProjectResource> AddProject<TProject>(this IDistributedApplicationBuilder builder, string name)
        where TProject : IProjectMetadata, new()
    {
        var project = new ProjectResource(name, new TProject().ProjectPath);
        project.Annotations.Add(new EndpointAnnotation("http"));
        project.Annotations.Add(new ResourceLifecycleAnnotation(context => new ProjectDriver(context.Host, project, context.Http)));
        return builder.AddResource(project);
    }
}
