namespace AiStreaming.AppHost.LocalServers;

/// <summary>
/// Where the local servers keep their files: <c>{AppHost folder}/.data/{resource}</c>, or under
/// <c>LocalServers:DataDirectory</c> when set (the tests give each stack a folder of its own).
/// </summary>
internal static class LocalDataDirectory
{
    /// <summary>Configuration key of the folder that holds every local server's data folder.</summary>
    public const string ConfigurationKey = "LocalServers:DataDirectory";

    /// <summary>Creates (if missing) and returns the data folder of resource <paramref name="name"/>.</summary>
    /// <exception cref="InvalidOperationException">The folder exists and belongs to another user.</exception>
    public static string For(IDistributedApplicationBuilder builder, string name)
    {
        var root = builder.Configuration[ConfigurationKey] is { Length: > 0 } configured
            ? Path.GetFullPath(configured)
            : Path.Combine(builder.AppHostDirectory, ".data");
        var path = Path.Combine(root, name);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>
    /// True when every folder from the root down to <paramref name="path"/> lets other users through (<c>o+x</c>), so a
    /// server run as the <c>postgres</c> user can reach its data folder there.
    /// </summary>
    public static bool IsReachableByOtherUsers(string path)
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
