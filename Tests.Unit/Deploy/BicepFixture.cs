using System.Diagnostics;

namespace AiStreaming.Tests.Deploy;

/// <summary>
/// Compiles every <c>infra/**/*.bicep</c> once with the Bicep CLI (<c>bicep build --pattern</c>, no module restore: the
/// templates use no registry modules) into a temporary folder. Tests read the exit code, the diagnostics and the ARM JSON.
/// </summary>
public sealed class BicepFixture : IAsyncLifetime
{
    /// <summary>The folder holding the ARM JSON, mirroring infra/ (<c>main.json</c>, <c>core/redis.json</c>, …).</summary>
    public string OutputDirectory { get; } = Directory.CreateTempSubdirectory("aistreaming-bicep-").FullName;

    /// <summary>The Bicep CLI's exit code.</summary>
    public int ExitCode { get; private set; }

    /// <summary>Diagnostics (errors, warnings, linter findings) the CLI printed, one a line.</summary>
    public IReadOnlyList<string> Diagnostics { get; private set; } = [];

    /// <summary>The .bicep files under infra/, relative to it, with '/' separators.</summary>
    public IReadOnlyList<string> Sources { get; } = [.. Directory.EnumerateFiles(DeployFiles.InfraDirectory, "*.bicep", SearchOption.AllDirectories)
        .Select(f => Path.GetRelativePath(DeployFiles.InfraDirectory, f).Replace('\\', '/'))
        .Order(StringComparer.Ordinal)];

    public async Task InitializeAsync()
    {
        var bicep = DeployFiles.BicepPath;
        Assert.True(File.Exists(bicep), $"The Bicep CLI is missing at {bicep}: restore Tests.Unit.csproj (PackageDownload Azure.Bicep.CommandLine.linux-x64).");
        // NuGet does not always keep the executable bit of package files.
        if (!OperatingSystem.IsWindows() && !File.GetUnixFileMode(bicep).HasFlag(UnixFileMode.UserExecute))
        {
            File.SetUnixFileMode(bicep, File.GetUnixFileMode(bicep) | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        }
        var start = new ProcessStartInfo(bicep)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = DeployFiles.InfraDirectory,
        };
        foreach (var arg in new[] { "build", "--no-restore", "--pattern", "**/*.bicep", "--outdir", OutputDirectory })
        {
            start.ArgumentList.Add(arg);
        }
        // The CLI's own telemetry stays off; nothing is sent anywhere.
        start.Environment["BICEP_TELEMETRY_ENABLED"] = "false";
        using var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        ExitCode = process.ExitCode;
        Diagnostics = [.. ((await stdout) + "\n" + (await stderr)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
    }

    public Task DisposeAsync()
    {
        Directory.Delete(OutputDirectory, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>The compiled ARM JSON of <paramref name="source"/> (e.g. <c>main.bicep</c>).</summary>
    public string ReadCompiled(string source) =>
        File.ReadAllText(Path.Combine(OutputDirectory, Path.ChangeExtension(source, ".json")));
}
