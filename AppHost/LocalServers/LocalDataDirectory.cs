namespace AiStreaming.AppHost.LocalServers;

/// <summary>
/// Where the local servers keep their files: <c>{AppHost folder}/.data/{resource}</c>, or under
/// <c>LocalServers:DataDirectory</c> when set (the tests give each stack a folder of its own).
/// </summary>
internal static class LocalDataDirectory
{
    /// <summary>Configuration key of the folder that holds every local server's data folder.</summary>
    public const string ConfigurationKey = "LocalServers:DataDirectory";

    /// <summary>
    /// Creates (if missing) and returns the data folder of resource <paramref name="name"/>. For a server that runs as
    /// another user (<paramref name="otherUser"/>: PostgreSQL and Redis as root drop to their own users) the folder must
    /// be reachable through its parents: when it is not (a clone under <c>/root</c>, say), a new folder under the system's
    /// temporary folder is used for this run instead.
    /// </summary>
    public static string For(IDistributedApplicationBuilder builder, string name, bool otherUser = false)
    {
        var root = builder.Configuration[ConfigurationKey] is { Length: > 0 } configured
            ? Path.GetFullPath(configured)
            : Path.Combine(builder.AppHostDirectory, ".data");
        var path = Path.Combine(root, name);
        Directory.CreateDirectory(path);
        if (otherUser && OperatingSystem.IsLinux() && !IsReachableByOtherUsers(path))
        {
            var parent = Directory.CreateTempSubdirectory("aistreaming-").FullName;
            File.SetUnixFileMode(parent, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
            path = Directory.CreateDirectory(Path.Combine(parent, name)).FullName;
        }
        return path;
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
