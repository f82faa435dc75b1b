using System.Reflection;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.Hosting;

namespace AiStreaming.Tests.Aspire;

/// <summary>
/// Builders of the AppHost for tests, on Aspire.Hosting.Testing: <see cref="CreateAsync"/> composes the application
/// exactly as <c>AppHost/Program.cs</c> does; <see cref="CreateEmpty"/> is an application of the test's own resources.
/// Both give the local Redis and PostgreSQL a fresh data folder and run without a developer certificate.
/// </summary>
public static class TestAppHost
{
    /// <summary>
    /// <c>DistributedApplicationTestingBuilder.CreateAsync&lt;Projects.AppHost&gt;</c> with a data folder of its own
    /// (<c>LocalServers:DataDirectory</c>) and <paramref name="args"/> as more AppHost configuration.
    /// </summary>
    public static async Task<IDistributedApplicationTestingBuilder> CreateAsync(CancellationToken cancellationToken, params string[] args)
    {
        AllowUnsecuredTransport();
        return await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            [$"--LocalServers:DataDirectory={NewDataDirectory()}", .. args], cancellationToken);
    }

    /// <summary>
    /// <see cref="CreateAsync(CancellationToken, string[])"/> with Aspire.Hosting.Testing's <paramref name="options"/>,
    /// e.g. <see cref="DistributedApplicationTestingBuilderOptions.EnableDashboard"/> to run Aspire's dashboard (over
    /// HTTP on loopback ports of its own; its login URL from <c>app.GetDashboardUrlAsync()</c>).
    /// </summary>
    public static async Task<IDistributedApplicationTestingBuilder> CreateAsync(
        DistributedApplicationTestingBuilderOptions options, CancellationToken cancellationToken, params string[] args)
    {
        AllowUnsecuredTransport();
        return await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            options, [$"--LocalServers:DataDirectory={NewDataDirectory()}", .. args], cancellationToken);
    }

    /// <summary>An application with no resources yet (add them with the AppHost's <c>AddRedisServer</c>, <c>AddPostgresServer</c>).</summary>
    /// <remarks>
    /// Built on the AppHost's assembly, as <see cref="CreateAsync"/> is, for DCP's path (its <c>dcpclipath</c> assembly
    /// metadata): the public <c>DistributedApplicationTestingBuilder.Create(args)</c> looks for that metadata on the
    /// assemblies of its callers, and finds none in a test library; the overload that takes the assembly is internal.
    /// </remarks>
    public static IDistributedApplicationTestingBuilder CreateEmpty(params string[] args)
    {
        AllowUnsecuredTransport();
        string[] all = [$"--LocalServers:DataDirectory={NewDataDirectory()}", .. args];
        Action<DistributedApplicationOptions, HostApplicationBuilderSettings> configure = (_, _) => { };
        return (IDistributedApplicationTestingBuilder)CreateOnAssembly.Invoke(null, [all, configure, typeof(Projects.AppHost).Assembly])!;
    }

    // DistributedApplicationTestingBuilder.Create(string[], Action<DistributedApplicationOptions, HostApplicationBuilderSettings>, Assembly).
    private static readonly MethodInfo CreateOnAssembly = typeof(DistributedApplicationTestingBuilder).GetMethod(
        nameof(DistributedApplicationTestingBuilder.Create), BindingFlags.NonPublic | BindingFlags.Static,
        [typeof(string[]), typeof(Action<DistributedApplicationOptions, HostApplicationBuilderSettings>), typeof(Assembly)])
        ?? throw new MissingMethodException(nameof(DistributedApplicationTestingBuilder), "Create(string[], Action<…>, Assembly)");

    /// <summary>
    /// A new folder under the system's temporary folder that other users can pass through (<c>0711</c>), so PostgreSQL,
    /// run as the <c>postgres</c> user, reaches its data folder inside it.
    /// </summary>
    public static string NewDataDirectory()
    {
        var directory = Directory.CreateTempSubdirectory("aistreaming-test-").FullName;
        if (OperatingSystem.IsWindows())
        {
            return directory;
        }
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        return directory;
    }

    // There is no developer certificate on the machines the tests run on: the dashboard and DCP talk over plain HTTP.
    private static void AllowUnsecuredTransport() => Environment.SetEnvironmentVariable("ASPIRE_ALLOW_UNSECURED_TRANSPORT", "true");
}
