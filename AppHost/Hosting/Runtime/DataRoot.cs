namespace AiStreaming.AppHost.Hosting.Runtime;

/// <summary>Where server data lives and who may enter it.</summary>
internal static class DataRoot
{
    /// <summary>
    /// The repository's <c>.data</c> folder, unless running as root in a folder the <c>postgres</c> user cannot enter (a
    /// clone under /root, or under a private temporary folder): PostgreSQL must run as <c>postgres</c>, so the data then
    /// goes to a folder of its own, <c>/var/tmp/aistreaming-{hash of the path}</c>, kept across runs.
    /// </summary>
    public static string Default()
    {
        var repository = AppHostMetadata.RepositoryRoot;
        var local = Path.Combine(repository, ".data");
        for (var dir = repository; Posix.IsRoot && dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (Directory.Exists(dir) && !Posix.GetMode(dir).HasFlag(UnixFileMode.OtherExecute))
            {
                var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(local)))[..12];
                return Path.Combine("/var/tmp", $"aistreaming-{hash}");
            }
        }
        return local;
    }

    /// <summary>Creates the folder; as root, opens it to the server users (postgres, redis), which must reach their own folders inside.</summary>
    public static void Create(string path)
    {
        Directory.CreateDirectory(path);
        if (Posix.IsRoot)
        {
            Posix.SetMode(path, Posix.GetMode(path)
                | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
    }

    /// <summary>Deletes the folder, reporting (not throwing) what could not be deleted.</summary>
    public static void Delete(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ConsoleOutput.Error($"Could not delete {path}: {ex.Message}");
        }
    }
}
