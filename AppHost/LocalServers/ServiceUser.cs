namespace AiStreaming.AppHost.LocalServers;

/// <summary>
/// <c>RunServicesUnprivileged</c>: when the AppHost runs as root (as on the machines this template targets), every .NET
/// project it starts is told to give up root for <c>nobody</c> (<c>ServiceDefaults__RunAsUser</c>, acted on by
/// ServiceDefaults' <c>RootPrivileges</c> before anything else runs), as Redis and PostgreSQL run as their own users.
/// Not root: nothing is set.
/// </summary>
public static class ServiceUser
{
    /// <summary>The unprivileged user the services run as: Debian's <c>nobody</c>.</summary>
    public const string User = "nobody";

    /// <summary>Sets <c>ServiceDefaults__RunAsUser</c> on every project resource when the AppHost runs as root.</summary>
    /// <param name="builder">The application builder, after the projects are added.</param>
    public static IDistributedApplicationBuilder RunServicesUnprivileged(this IDistributedApplicationBuilder builder)
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            return builder;
        }
        foreach (var project in builder.Resources.OfType<ProjectResource>())
        {
            builder.CreateResourceBuilder(project).WithEnvironment("ServiceDefaults__RunAsUser", User);
        }
        return builder;
    }
}
