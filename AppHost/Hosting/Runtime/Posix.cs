using System.Runtime.InteropServices;

namespace AiStreaming.AppHost.Hosting.Runtime;

/// <summary>The few POSIX calls .NET does not expose: sending a chosen signal, changing a file's owner.</summary>
internal static partial class Posix
{
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    /// <summary>True when the AppHost runs as root: PostgreSQL then runs as the <c>postgres</c> user, which owns its data.</summary>
    public static bool IsRoot => Environment.IsPrivilegedProcess;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false if the process no longer exists.
    /// A pid of 0 or less is refused: kill(2) would signal a whole process group, the AppHost's own included.</summary>
    public static bool Signal(int pid, int signal) => pid > 0 && kill(pid, signal) == 0;

    /// <summary>Sets a file's permission bits (no-op on Windows, where the AppHost does not run).</summary>
    public static void SetMode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    /// <summary>A file's permission bits.</summary>
    public static UnixFileMode GetMode(string path) =>
        OperatingSystem.IsWindows() ? (UnixFileMode)0b111_111_111 : File.GetUnixFileMode(path);

    /// <summary>The uid and gid of a local user, from <c>/etc/passwd</c>.</summary>
    /// <exception cref="DistributedApplicationException">The user does not exist.</exception>
    public static (int Uid, int Gid) GetUser(string name)
    {
        foreach (var line in File.ReadLines("/etc/passwd"))
        {
            var fields = line.Split(':');
            if (fields.Length >= 4 && fields[0] == name)
            {
                return (int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture),
                        int.Parse(fields[3], System.Globalization.CultureInfo.InvariantCulture));
            }
        }
        throw new DistributedApplicationException($"User '{name}' does not exist; it is created by the Debian package 'postgresql' (sudo apt-get install -y postgresql).");
    }

    /// <summary>Makes <paramref name="user"/> the owner of <paramref name="path"/> (not recursive).</summary>
    public static void Chown(string path, (int Uid, int Gid) user)
    {
        if (chown(path, user.Uid, user.Gid) != 0)
        {
            throw new DistributedApplicationException($"chown {path} failed (errno {Marshal.GetLastPInvokeError()}).");
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int sig);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chown(string path, int owner, int group);
}
