using System.Runtime.InteropServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Gives up root: a service started as root (the AppHost run as root starts its projects as root) switches, before
/// anything else runs, to the user named by <see cref="ConfigurationKey"/> (the AppHost's <c>RunServicesUnprivileged</c>
/// sets <c>nobody</c>): supplementary groups dropped, then <c>setgid</c>, then <c>setuid</c>, for every thread of the
/// process. It is skipped, with a Warning, when that user could not read the service's own files (a clone under
/// <c>/root</c>): the service would fail at its next assembly load. Without the setting, or when not root (containers run
/// as the image's non-root <c>app</c> user), nothing changes.
/// </summary>
public static partial class RootPrivileges
{
    /// <summary>Configuration key naming the user a service started as root runs as (<c>ServiceDefaults__RunAsUser</c>).</summary>
    public const string ConfigurationKey = "ServiceDefaults:RunAsUser";

    /// <summary>Drops root when <see cref="ConfigurationKey"/> names a user, and reports what it did once the host runs.</summary>
    /// <param name="builder">The host builder.</param>
    /// <exception cref="InvalidOperationException">The user does not exist, or the switch failed (the service must not go on as root).</exception>
    public static void DropRoot(IHostApplicationBuilder builder)
    {
        if (builder.Configuration[ConfigurationKey] is not { Length: > 0 } user || !OperatingSystem.IsLinux() || geteuid() != 0)
        {
            return;
        }
        var (uid, gid) = Lookup(user);
        string outcome;
        if (!IsReadableBy(AppContext.BaseDirectory))
        {
            outcome = $"not dropped: {AppContext.BaseDirectory} is not reachable by other users, so {user} could not load the service";
        }
        else
        {
            if (setgroups(0, 0) != 0 || setgid(gid) != 0 || setuid(uid) != 0 || geteuid() == 0)
            {
                throw new InvalidOperationException($"Could not switch from root to {user} (errno {Marshal.GetLastPInvokeError()}).");
            }
            outcome = $"dropped: running as {user} ({uid}:{gid})";
        }
        builder.Services.AddHostedService(sp => new Report(sp.GetRequiredService<ILogger<Report>>(), outcome, outcome.StartsWith("dropped", StringComparison.Ordinal)));
    }

    private static (uint Uid, uint Gid) Lookup(string user)
    {
        foreach (var line in File.ReadLines("/etc/passwd"))
        {
            var fields = line.Split(':');
            if (fields.Length > 3 && fields[0] == user)
            {
                return (uint.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture), uint.Parse(fields[3], System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        throw new InvalidOperationException($"{ConfigurationKey} names user '{user}', which /etc/passwd does not have.");
    }

    // Every folder from the root down lets others through, and the folder itself lets them read.
    private static bool IsReadableBy(string folder)
    {
        var directory = new DirectoryInfo(folder);
        if ((directory.UnixFileMode & UnixFileMode.OtherRead) == 0)
        {
            return false;
        }
        for (; directory is not null; directory = directory.Parent)
        {
            if ((directory.UnixFileMode & UnixFileMode.OtherExecute) == 0)
            {
                return false;
            }
        }
        return true;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern uint geteuid();

    [DllImport("libc", SetLastError = true)]
    private static extern int setgroups(nuint size, nint list);

    [DllImport("libc", SetLastError = true)]
    private static extern int setgid(uint gid);

    [DllImport("libc", SetLastError = true)]
    private static extern int setuid(uint uid);

    /// <summary>Logs the outcome once the host runs (no logger exists yet when root is dropped).</summary>
    private sealed partial class Report(ILogger<Report> logger, string outcome, bool dropped) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (dropped)
            {
                Log.Dropped(logger, outcome);
            }
            else
            {
                Log.NotDropped(logger, outcome);
            }
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        private static partial class Log
        {
            [LoggerMessage(LogLevel.Information, "Root privileges {Outcome}")]
            public static partial void Dropped(ILogger logger, string outcome);

            [LoggerMessage(LogLevel.Warning, "Root privileges {Outcome}")]
            public static partial void NotDropped(ILogger logger, string outcome);
        }
    }
}
