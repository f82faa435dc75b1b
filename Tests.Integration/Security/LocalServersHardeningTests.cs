using AiStreaming.AppHost.LocalServers;
using AiStreaming.Tests.Aspire;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using StackExchange.Redis;

namespace AiStreaming.Tests.Security;

/// <summary>
/// The local servers' edges (issue 22, item 5): Redis's default user cannot run CONFIG, MODULE or DEBUG; data folders
/// are private, and an existing one that is a link, someone else's or writable by others is refused; the config file is
/// never written through a link planted in its place.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class LocalServersHardeningTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("aistreaming-edges-").FullName;

    // As root, Redis runs as the redis user: its folder must be reachable (o+x) through its parents, or another is used.
    public LocalServersHardeningTests() => File.SetUnixFileMode(_root, (UnixFileMode)0b111_001_001);

    [Fact]
    public async Task Redis_default_user_cannot_config_module_or_debug_but_serves_the_app()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var victim = Path.Combine(_root, "victim.txt");
        await File.WriteAllTextAsync(victim, "untouched", cts.Token);
        var folder = Directory.CreateDirectory(Path.Combine(_root, "data", "redis"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute).FullName;
        File.CreateSymbolicLink(Path.Combine(folder, "redis.conf"), victim);
        var builder = TestAppHost.CreateEmpty($"--LocalServers:DataDirectory={Path.Combine(_root, "data")}");
        builder.AddRedisServer("redis");
        await using var app = await builder.BuildAsync(cts.Token);
        await app.StartAsync(cts.Token);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("redis", cts.Token);

        var connection = (await app.GetConnectionStringAsync("redis", cts.Token))!;
        await using var redis = await ConnectionMultiplexer.ConnectAsync(connection + ",allowAdmin=true");
        var db = redis.GetDatabase();
        foreach (var command in new[] { new object[] { "CONFIG", "GET", "dir" }, ["CONFIG", "SET", "dir", "/tmp"], ["MODULE", "LIST"], ["DEBUG", "SLEEP", "0"] })
        {
            var refused = await Assert.ThrowsAsync<RedisServerException>(() => db.ExecuteAsync((string)command[0], command[1..]));
            // Redis 7 also refuses DEBUG by default (enable-debug-command no) before the ACL is consulted.
            Assert.Matches("^(NOPERM|ERR DEBUG command not allowed)", refused.Message);
        }
        var acl = ((RedisResult[])(await db.ExecuteAsync("ACL", "GETUSER", "default"))!).Select(r => r.ToString()).ToList();
        var rules = acl[acl.IndexOf("commands") + 1];
        Assert.Contains("-config", rules, StringComparison.Ordinal);
        Assert.Contains("-module", rules, StringComparison.Ordinal);
        Assert.Contains("-debug", rules, StringComparison.Ordinal);
        // What the services use still works: keys, scripts, streams, pub/sub.
        await db.StringSetAsync("edges", "1");
        Assert.Equal(2, (long)await db.ScriptEvaluateAsync("return redis.call('INCR', KEYS[1])", ["edges"]));
        await db.StreamAddAsync("edges-stream", "f", "v");
        await db.PublishAsync(RedisChannel.Literal("edges-channel"), "hello");
        // The planted link was replaced, not written through.
        Assert.Equal("untouched", await File.ReadAllTextAsync(victim, cts.Token));
        Assert.Null(new FileInfo(Path.Combine(folder, "redis.conf")).LinkTarget);
    }

    [Fact]
    public void A_new_data_folder_is_private()
    {
        var builder = TestAppHost.CreateEmpty($"--LocalServers:DataDirectory={Path.Combine(_root, "fresh")}");
        builder.AddRedisServer("redis");

        var mode = File.GetUnixFileMode(Path.Combine(_root, "fresh", "redis"));
        Assert.Equal(UnixFileMode.None, mode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite));
    }

    [Theory]
    [InlineData("writable-by-others")]
    [InlineData("link")]
    [InlineData("someone-elses")]
    public void An_existing_data_folder_not_safely_ours_is_refused(string kind)
    {
        var data = Directory.CreateDirectory(Path.Combine(_root, kind)).FullName;
        var folder = Path.Combine(data, "redis");
        switch (kind)
        {
            case "writable-by-others":
                Directory.CreateDirectory(folder);
                File.SetUnixFileMode(folder, (UnixFileMode)0b111_111_111);
                break;
            case "link":
                Directory.CreateSymbolicLink(folder, Directory.CreateDirectory(Path.Combine(_root, "elsewhere")).FullName);
                break;
            default:
                Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                if (Environment.UserName != "root")
                {
                    return; // only root can give a folder to another user (this machine and CI run as root)
                }
                using (var chown = System.Diagnostics.Process.Start("chown", ["nobody", folder]))
                {
                    chown.WaitForExit();
                    Assert.Equal(0, chown.ExitCode);
                }
                break;
        }
        var builder = TestAppHost.CreateEmpty($"--LocalServers:DataDirectory={data}");

        var refused = Assert.Throws<InvalidOperationException>(() => builder.AddRedisServer("redis"));
        Assert.Contains(folder, refused.Message, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
