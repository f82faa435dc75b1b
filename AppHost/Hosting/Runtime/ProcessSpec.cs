using System.Diagnostics;

namespace AiStreaming.AppHost.Hosting.Runtime;

/// <summary>What to run for one replica: program, arguments, folder, extra environment, and how it must die with the AppHost.</summary>
internal sealed record ProcessSpec(string FileName, IReadOnlyList<string> Arguments, string WorkingDirectory)
{
    /// <summary>Variables set on top of the AppHost's inherited environment.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Run as the <c>postgres</c> user (only has an effect when the AppHost is root).</summary>
    public bool RunAsPostgresUser { get; init; }

    /// <summary>Run as this local user (only has an effect when the AppHost is root); overrides <see cref="RunAsPostgresUser"/>.</summary>
    public string? RunAsUser { get; init; }

    /// <summary>The signal the child gets when the AppHost dies (a <c>setpriv --pdeathsig</c> name: TERM, INT).</summary>
    public string DeathSignal { get; init; } = "TERM";

    /// <summary>
    /// The start info: <c>setpriv [--reuid=postgres …] --pdeathsig {sig} -- setsid {program} {args}</c>. <c>setsid</c> puts the
    /// child in its own session so a Ctrl+C in the terminal reaches only the AppHost, which then stops children in reverse
    /// dependency order; both tools exec, so the process id is the program's own.
    /// </summary>
    public ProcessStartInfo ToStartInfo()
    {
        var info = new ProcessStartInfo(HostTools.SetPriv)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = WorkingDirectory,
        };
        if ((RunAsUser ?? (RunAsPostgresUser ? "postgres" : null)) is { } user && Posix.IsRoot)
        {
            // Numeric ids: a user's primary group need not share its name (nobody's is nogroup on Debian).
            var (uid, gid) = Posix.GetUser(user);
            info.ArgumentList.Add(FormattableString.Invariant($"--reuid={uid}"));
            info.ArgumentList.Add(FormattableString.Invariant($"--regid={gid}"));
            info.ArgumentList.Add("--init-groups");
        }
        info.ArgumentList.Add("--pdeathsig");
        info.ArgumentList.Add(DeathSignal);
        info.ArgumentList.Add("--");
        if (HostTools.SetSid is { } setsid)
        {
            info.ArgumentList.Add(setsid);
        }
        info.ArgumentList.Add(FileName);
        foreach (var argument in Arguments)
        {
            info.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in Environment)
        {
            info.Environment[name] = value;
        }
        return info;
    }
}

/// <summary>Where the programs the AppHost runs are, and what to say when one is missing.</summary>
internal static class HostTools
{
    public const string InstallHint = "Install it: sudo apt-get install -y redis-server postgresql (or ./scripts/install-deps.sh).";

    /// <summary><c>setpriv</c> (util-linux), which sets the parent-death signal and, as root, the postgres user.</summary>
    public static string SetPriv => FindOnPath("setpriv") ?? "/usr/bin/setpriv";

    /// <summary><c>setsid</c> (util-linux), or null to run children in the AppHost's session.</summary>
    public static string? SetSid => FindOnPath("setsid");

    /// <summary>The newest <c>/usr/lib/postgresql/{version}/bin</c> holding <c>postgres</c> and <c>initdb</c> (Debian 12: 15), or null.</summary>
    public static string? PostgresBin =>
        Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(dir => (Dir: Path.Combine(dir, "bin"), Version: int.TryParse(Path.GetFileName(dir), out var v) ? v : 0))
                .Where(x => File.Exists(Path.Combine(x.Dir, "postgres")) && File.Exists(Path.Combine(x.Dir, "initdb")))
                .OrderByDescending(x => x.Version)
                .Select(x => x.Dir)
                .FirstOrDefault()
            : null;

    /// <summary>The <c>dotnet</c> host: the one the SDK is running (DOTNET_HOST_PATH), else the one on PATH.</summary>
    public static string? Dotnet =>
        System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host
        : FindOnPath("dotnet")
        ?? (System.Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } root && File.Exists(Path.Combine(root, "dotnet"))
            ? Path.Combine(root, "dotnet") : null)
        ?? (File.Exists("/usr/share/dotnet/dotnet") ? "/usr/share/dotnet/dotnet" : null);

    public static string? FindOnPath(string program)
    {
        var path = System.Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries).Concat(["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]))
        {
            var candidate = Path.Combine(dir, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }
}
