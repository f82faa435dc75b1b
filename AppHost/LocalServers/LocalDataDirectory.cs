using System.Diagnostics;
using System.Globalization;

namespace AiStreaming.AppHost.LocalServers;

/// <summary>
/// Where the local servers keep their files: <c>{AppHost folder}/.data/{resource}</c>, or under
/// <c>LocalServers:DataDirectory</c> when set (the tests give each stack a folder of its own). A folder is created private
/// (<c>0700</c>) and an existing one is used only when it is a real folder (not a link), owned by this user or by the
/// server's own user, and writable by nobody else; otherwise the AppHost refuses to start with a message that says why.
/// </summary>
internal static class LocalDataDirectory
{
    /// <summary>Configuration key of the folder that holds every local server's data folder.</summary>
    public const string ConfigurationKey = "LocalServers:DataDirectory";

    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    // Others may pass through (to reach a server's own folder, run as its user) but not list or write.
    private const UnixFileMode Traversable = Private | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    /// <summary>
    /// Creates (if missing) and returns the data folder of resource <paramref name="name"/>, after checking it
    /// (<see cref="CheckOwned"/>). For a server that runs as another user (<paramref name="serverUser"/>: PostgreSQL and
    /// Redis as root drop to their own users) the folder must be reachable through its parents: when it is not (a clone
    /// under <c>/root</c>, say), a new folder of random name under the system's temporary folder is used for this run.
    /// </summary>
    /// <param name="builder">The AppHost builder (configuration, AppHost folder).</param>
    /// <param name="name">The resource name.</param>
    /// <param name="serverUser">The user the server runs as, when not this one (e.g. <c>redis</c>), or <see langword="null"/>.</param>
    /// <exception cref="InvalidOperationException">An existing folder is a link, owned by someone else, or writable by others.</exception>
    public static string For(IDistributedApplicationBuilder builder, string name, string? serverUser = null)
    {
        var root = builder.Configuration[ConfigurationKey] is { Length: > 0 } configured
            ? Path.GetFullPath(configured)
            : Path.Combine(builder.AppHostDirectory, ".data");
        var path = Path.Combine(root, name);
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return path;
        }
        CreateOrCheck(root, Traversable, null);
        if (serverUser is not null && OperatingSystem.IsLinux() && !IsReachableByOtherUsers(path))
        {
            var parent = Directory.CreateTempSubdirectory("aistreaming-").FullName;
            File.SetUnixFileMode(parent, Traversable);
            path = Path.Combine(parent, name);
        }
        CreateOrCheck(path, Private, serverUser);
        return path;
    }

    /// <summary>
    /// Writes <paramref name="contents"/> to a new file at <paramref name="path"/>, readable and writable by its owner
    /// only: whatever is at <paramref name="path"/> (a file, or a link planted there) is removed first, and the file is
    /// created exclusively (<c>O_EXCL</c>), so nothing is written through a link.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="contents">Its text (UTF-8).</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    public static async Task WriteNewFileAsync(string path, string contents, CancellationToken cancellationToken)
    {
        File.Delete(path);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        await using var file = new FileStream(path, options);
        await file.WriteAsync(System.Text.Encoding.UTF8.GetBytes(contents), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Why <paramref name="path"/> must not be used as a data folder, or <see langword="null"/> when it may: it must be a
    /// folder (not a link to one), owned by this user or by <paramref name="serverUser"/>, and not writable by group or others.
    /// </summary>
    /// <param name="path">An existing path.</param>
    /// <param name="serverUser">The server's own user, which may own the folder after an earlier run.</param>
    internal static string? CheckOwned(string path, string? serverUser)
    {
        var info = new DirectoryInfo(path);
        if (info.LinkTarget is not null)
        {
            return $"{path} is a link; a data folder must be a folder of its own.";
        }
        var (uid, mode) = Stat(path);
        var owners = new List<string> { CurrentUserId() };
        if (serverUser is not null && UserId(serverUser) is { } server)
        {
            owners.Add(server);
        }
        if (!owners.Contains(uid))
        {
            return $"{path} belongs to user id {uid}, not to this user ({owners[0]}){(serverUser is null ? "" : $" or {serverUser}")}.";
        }
        if ((mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            return $"{path} is writable by other users (mode {Convert.ToString((int)mode, 8)}).";
        }
        return null;
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void CreateOrCheck(string path, UnixFileMode mode, string? serverUser)
    {
        if (!Directory.Exists(path) && !File.Exists(path))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            Directory.CreateDirectory(path, mode);
            return;
        }
        if (CheckOwned(path, serverUser) is { } problem)
        {
            throw new InvalidOperationException($"Refusing to use the local servers' data folder: {problem} Remove it, or set {ConfigurationKey} to another folder.");
        }
    }

    // Owner's user id and permission bits of the path itself (lstat: a link is not followed).
    private static (string Uid, UnixFileMode Mode) Stat(string path)
    {
        var output = Run("stat", "-c", "%u %a", "--", path).Split(' ');
        return (output[0], (UnixFileMode)Convert.ToInt32(output[1], 8));
    }

    private static string CurrentUserId() => Run("id", "-u");

    private static string? UserId(string user)
    {
        try
        {
            return Run("id", "-u", "--", user);
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static string Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return process.ExitCode == 0
            ? output
            : throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"{program} {string.Join(' ', args)} exited with {process.ExitCode}."));
    }

    /// <summary>
    /// True when every folder from the root down to <paramref name="path"/> lets other users through (<c>o+x</c>), so a
    /// server run as the <c>postgres</c> user can reach its data folder there.
    /// </summary>
    private static bool IsReachableByOtherUsers(string path)
    {
        for (var directory = new DirectoryInfo(path).Parent; directory is not null; directory = directory.Parent)
        {
            if ((directory.UnixFileMode & UnixFileMode.OtherExecute) == 0)
            {
                return false;
            }
        }
        return true;
    }
}
