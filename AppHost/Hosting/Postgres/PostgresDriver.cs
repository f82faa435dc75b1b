using System.Globalization;
using System.Security.Cryptography;
using AiStreaming.AppHost.Hosting.Runtime;
using Npgsql;

namespace AiStreaming.AppHost.Hosting;

/// <summary>
/// Runs PostgreSQL from Debian's binaries: <c>initdb</c> once into <c>{DataRoot}/{name}</c> (user <c>postgres</c>, SCRAM password
/// from <c>{DataRoot}/{name}.password</c>), then <c>postgres</c> on the replica's loopback port. As root both run as the
/// <c>postgres</c> user, which owns the data folder. Healthy when a connection opens; then missing databases are created.
/// </summary>
internal sealed class PostgresDriver(HostContext host, PostgresServerResource resource) : ResourceDriver(host)
{
    private const string PasswordAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    // sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
    private const int MaxSocketPath = 107;

    public override string Kind => "PostgreSQL";

    public override int StartAttempts => 3;

    /// <summary>SIGINT is PostgreSQL's fast shutdown: roll back open transactions, checkpoint, exit.</summary>
    public override int StopSignal => Posix.SIGINT;

    private string DataDirectory => DataDirectoryOf(Host.DataRoot, resource);

    private string PasswordFile => PasswordFileOf(Host.DataRoot, resource);

    private string SocketDirectory => Path.Combine(Host.DataRoot, $"{resource.Name}.run");

    private static string DataDirectoryOf(string dataRoot, PostgresServerResource resource) => Path.Combine(dataRoot, resource.Name);

    private static string PasswordFileOf(string dataRoot, PostgresServerResource resource) => Path.Combine(dataRoot, $"{resource.Name}.password");

    /// <summary>The server's password: read from the data root, or made and stored there before the first <c>initdb</c>.</summary>
    /// <exception cref="DistributedApplicationException">The data folder exists but its password file is gone.</exception>
    public static string LoadOrCreatePassword(string dataRoot, PostgresServerResource resource)
    {
        var passwordFile = PasswordFileOf(dataRoot, resource);
        if (File.Exists(passwordFile))
        {
            return File.ReadAllText(passwordFile).Trim();
        }
        var dataDirectory = DataDirectoryOf(dataRoot, resource);
        if (File.Exists(Path.Combine(dataDirectory, "PG_VERSION")))
        {
            throw new DistributedApplicationException(
                $"PostgreSQL data folder {dataDirectory} exists but its password file {passwordFile} is missing: delete {dataDirectory} to initialise a new server.");
        }
        var password = RandomNumberGenerator.GetString(PasswordAlphabet, 32);
        File.WriteAllText(passwordFile, password + "\n");
        Posix.SetMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return password;
    }

    /// <summary>The password of a database's owner role: read from the data root, or made and stored there.</summary>
    public static string LoadOrCreateOwnerPassword(string dataRoot, PostgresServerResource server, PostgresDatabaseResource database)
    {
        var passwordFile = Path.Combine(dataRoot, $"{server.Name}.{database.DatabaseName}.password");
        if (File.Exists(passwordFile))
        {
            return File.ReadAllText(passwordFile).Trim();
        }
        Directory.CreateDirectory(dataRoot);
        var password = RandomNumberGenerator.GetString(PasswordAlphabet, 32);
        File.WriteAllText(passwordFile, password + "\n");
        Posix.SetMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return password; // applied (CREATE/ALTER ROLE) when the server becomes healthy
    }

    public override IEnumerable<string> CheckPrerequisites()
    {
        if (HostTools.PostgresBin is null)
        {
            yield return $"PostgreSQL was not found (/usr/lib/postgresql/15/bin/postgres, Debian package 'postgresql'), needed by resource '{resource.Name}'. {HostTools.InstallHint}";
            yield break;
        }
        if (Posix.IsRoot)
        {
            for (var dir = Host.DataRoot; dir is not null; dir = Path.GetDirectoryName(dir))
            {
                if (Directory.Exists(dir) && !Posix.GetMode(dir).HasFlag(UnixFileMode.OtherExecute))
                {
                    yield return $"PostgreSQL runs as the 'postgres' user, which cannot enter {dir} (on the way to the data root {Host.DataRoot}): "
                        + $"chmod o+x {dir}, or choose a DataRoot elsewhere (e.g. under /tmp).";
                    yield break;
                }
            }
        }
    }

    public override async Task PrepareAsync(ResourceRuntime runtime, Action<string> log, CancellationToken cancellationToken)
    {
        var postgresUser = Posix.IsRoot ? Posix.GetUser("postgres") : default;
        if (Posix.IsRoot)
        {
            Posix.Chown(PasswordFile, postgresUser);
        }
        if (SocketDirectory.Length + ".s.PGSQL.65535".Length + 1 <= MaxSocketPath)
        {
            CreateOwnedDirectory(SocketDirectory, postgresUser, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
        if (File.Exists(Path.Combine(DataDirectory, "PG_VERSION")))
        {
            return;
        }

        // initdb into a staging folder and rename it when complete: an interrupted init never leaves a half-made data folder behind.
        if (Directory.Exists(DataDirectory))
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        var staging = DataDirectory + ".initdb";
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }
        CreateOwnedDirectory(staging, postgresUser, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        log($"initdb {DataDirectory}");
        var spec = new ProcessSpec(Path.Combine(HostTools.PostgresBin!, "initdb"),
            ["-D", staging, "-U", PostgresServerResource.UserName, "--auth=scram-sha-256", $"--pwfile={PasswordFile}",
             "--encoding=UTF8", "--locale=C", "--no-instructions",
             // No fsync: a crash of the machine may lose recent commits, which a dev or test stack can afford.
             "--no-sync"],
            Host.DataRoot)
        {
            RunAsPostgresUser = true,
        };
        var (exitCode, output) = await ProcessRunner.RunToCompletionAsync(spec, log, cancellationToken).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new DistributedApplicationException(
                $"initdb for '{resource.Name}' failed with exit code {exitCode}:{Environment.NewLine}{string.Join(Environment.NewLine, output.TakeLast(30))}");
        }
        Directory.Move(staging, DataDirectory);
    }

    public override Task<ProcessSpec> CreateProcessSpecAsync(ReplicaRuntime replica, CancellationToken cancellationToken)
    {
        var socketDirectory = Directory.Exists(SocketDirectory) ? SocketDirectory : "";
        string[] args =
        [
            "-D", DataDirectory,
            "-p", replica.Port.ToString(CultureInfo.InvariantCulture),
            "-k", socketDirectory,
            "-c", "listen_addresses=127.0.0.1",
            "-c", "max_connections=200",
            "-c", "fsync=off",
        ];
        return Task.FromResult(new ProcessSpec(Path.Combine(HostTools.PostgresBin!, "postgres"), args, Host.DataRoot)
        {
            RunAsPostgresUser = true,
            DeathSignal = "INT",
        });
    }

    public override async Task<bool> IsHealthyAsync(ReplicaRuntime replica, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString());
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    public override async Task OnHealthyAsync(ReplicaRuntime replica, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString());
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        // The role statements carry a password: keep them out of the server log even if one fails.
        await ExecuteAsync(connection, "SET log_statement = 'none'; SET log_min_error_statement = 'panic'", cancellationToken).ConfigureAwait(false);
        foreach (var database in resource.Databases.Where(d => d.ExternalConnectionString is null))
        {
            // Names were validated by AddDatabase (letters, digits, '_', '-'), so quoting them is enough; the
            // password is [A-Za-z0-9] only.
            var role = database.OwnerRole;
            await using (var roleExists = new NpgsqlCommand("SELECT 1 FROM pg_roles WHERE rolname = $1", connection) { Parameters = { new() { Value = role } } })
            {
                var verb = await roleExists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null ? "CREATE" : "ALTER";
                // LOGIN, not SUPERUSER; CREATEDB so the Api can create its database when handed a server without it.
                await ExecuteAsync(connection, $"{verb} ROLE \"{role}\" LOGIN NOSUPERUSER NOCREATEROLE CREATEDB PASSWORD '{database.OwnerPassword}'", cancellationToken).ConfigureAwait(false);
            }
            await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection)
            {
                Parameters = { new() { Value = database.DatabaseName } },
            };
            if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
            {
                await ExecuteAsync(connection, $"CREATE DATABASE \"{database.DatabaseName}\" OWNER \"{role}\"", cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await ExecuteAsync(connection, $"ALTER DATABASE \"{database.DatabaseName}\" OWNER TO \"{role}\"", cancellationToken).ConfigureAwait(false);
            }
            await TransferSchemaAsync(database, role, cancellationToken).ConfigureAwait(false);
        }
    }

    // The role owns the public schema and everything in it, including tables made by the superuser before roles existed.
    private async Task TransferSchemaAsync(PostgresDatabaseResource database, string role, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(resource.BuildConnectionString(database.DatabaseName)) { Pooling = false, Timeout = 3 };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, $$"""
            ALTER SCHEMA public OWNER TO "{{role}}";
            DO $$ DECLARE r record; BEGIN
              FOR r IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') AND pg_get_userbyid(c.relowner) <> '{{role}}'
              LOOP
                EXECUTE format('ALTER %s public.%I OWNER TO %I',
                  CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, r.relname, '{{role}}');
              END LOOP;
            END $$;
            """, cancellationToken).ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private string AdminConnectionString() =>
        new NpgsqlConnectionStringBuilder(resource.BuildConnectionString("postgres")) { Pooling = false, Timeout = 3 }.ConnectionString;

    private static void CreateOwnedDirectory(string path, (int Uid, int Gid) owner, UnixFileMode mode)
    {
        Directory.CreateDirectory(path);
        Posix.SetMode(path, mode);
        if (Posix.IsRoot)
        {
            Posix.Chown(path, owner);
        }
    }
}
