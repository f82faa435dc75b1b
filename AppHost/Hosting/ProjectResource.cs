namespace AiStreaming.AppHost.Hosting;

/// <summary>
/// A .NET project of this repository, launched from its build output (<c>dotnet {dir}/bin/{Configuration}/{tfm}/{Name}.dll</c>,
/// working directory = the project folder) once per replica, each replica on its own loopback port
/// (<c>ASPNETCORE_URLS</c>). Healthy when <c>GET /health</c> answers 200.
/// </summary>
/// <param name="name">The resource name; referencing projects get <c>services__{name}__http__{replica}</c>.</param>
/// <param name="projectPath">The absolute path of the <c>.csproj</c>.</param>
public sealed class ProjectResource(string name, string projectPath)
    : Resource(name), IResourceWithEnvironment, IResourceWithServiceDiscovery, IResourceWithWaitSupport, IResourceWithArgs
{
    /// <summary>The absolute path of the <c>.csproj</c>.</summary>
    public string ProjectPath { get; } = projectPath;

    /// <summary>The project folder, used as the working directory so <c>appsettings.json</c> and <c>wwwroot</c> are found.</summary>
    public string ProjectDirectory => Path.GetDirectoryName(ProjectPath)!;

    /// <summary>How many processes run this project (<c>WithReplicas</c>); 1 unless set.</summary>
    public int Replicas { get; internal set; } = 1;

    /// <summary>Whether the project is meant to be opened from outside (<c>WithExternalHttpEndpoints</c>): its URL is printed at start.</summary>
    public bool IsExternal { get; internal set; }

    /// <summary>The path of the endpoint polled for health.</summary>
    public string HealthCheckPath { get; internal set; } = "/health";

    /// <summary>One port per replica, allocated when the application was built.</summary>
    internal int[]? Ports { get; set; }
}
