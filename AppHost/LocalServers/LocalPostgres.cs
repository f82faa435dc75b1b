using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AiStreaming.AppHost.LocalServers;

/// <summary>
/// A PostgreSQL server run from Debian's binaries (<c>/usr/lib/postgresql/{version}/bin/postgres</c>) as an executable
/// resource, on a loopback port, as the <c>postgres</c> user (through <c>setpriv</c>, which execs, so DCP signals
/// PostgreSQL itself) when the AppHost runs as root. Its data folder is made by the <c>{name}-init</c> resource
/// (<c>initdb</c>), which the server waits for. Local socket connections are trusted (the socket lives in the data
/// folder, 0700); TCP connections need a password.
/// </summary>
/// <param name="name">Resource name.</param>
/// <param name="command">The program DCP starts: <c>setpriv</c> as root, else <c>postgres</c>.</param>
/// <param name="dataDirectory">The data folder (<c>PGDATA</c>), also where the Unix socket is.</param>
/// <param name="password">The superuser's password, set on every start.</param>
public sealed class LocalPostgresServerResource(string name, string command, string dataDirectory, ParameterResource password)
    : ExecutableResource(name, command, dataDirectory), IResourceWithConnectionString
{
    /// <summary>The endpoint name of the PostgreSQL port.</summary>
    public const string EndpointName = "tcp";

    /// <summary>The superuser.</summary>
    public const string SuperUser = "postgres";

    /// <summary>The data folder (<c>PGDATA</c>).</summary>
    public string DataDirectory { get; } = dataDirectory;

    /// <summary>The superuser's password parameter.</summary>
    public ParameterResource Password { get; } = password;

    /// <summary>The PostgreSQL port (not proxied).</summary>
    public EndpointReference PrimaryEndpoint => new(this, EndpointName);

    /// <summary>The databases added with <see cref="LocalPostgres.AddDatabase"/>.</summary>
    public List<LocalPostgresDatabaseResource> Databases { get; } = [];

    /// <summary>The superuser's Npgsql connection string: <c>Host=127.0.0.1;Port={port};Username=postgres;Password={password}</c>.</summary>
    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"Host=127.0.0.1;Port={PrimaryEndpoint.Property(EndpointProperty.Port)};Username={SuperUser};Password={Password}");

    /// <summary>A superuser connection string over the Unix socket in the data folder (trusted, no password).</summary>
    internal string SocketConnectionString(string database = "postgres") =>
        $"Host={DataDirectory};Port={PrimaryEndpoint.Port};Username={SuperUser};Database={database};Pooling=false;Timeout=3";
}

/// <summary>
/// A database on a <see cref="LocalPostgresServerResource"/>, owned by its own login role <c>{database}_owner</c>, which
/// is not a superuser. Created (or its role's password reset) each time the server becomes healthy.
/// </summary>
/// <param name="name">Resource name; referencing projects get <c>ConnectionStrings__{name}</c>.</param>
/// <param name="databaseName">The database's name inside PostgreSQL.</param>
/// <param name="password">The owner role's password.</param>
/// <param name="parent">The server.</param>
public sealed class LocalPostgresDatabaseResource(string name, string databaseName, ParameterResource password, LocalPostgresServerResource parent)
    : Resource(name), IResourceWithParent<LocalPostgresServerResource>, IResourceWithConnectionString
{
    /// <summary>The database's name inside PostgreSQL.</summary>
    public string DatabaseName { get; } = databaseName;

    /// <summary>The role that owns the database and its <c>public</c> schema: <c>{database}_owner</c>.</summary>
    public string OwnerRole => $"{DatabaseName}_owner";

    /// <summary>The owner role's password parameter.</summary>
    public ParameterResource Password { get; } = password;

    /// <inheritdoc />
    public LocalPostgresServerResource Parent { get; } = parent;

    /// <summary>
    /// The Npgsql connection string: <c>Host=127.0.0.1;Port={port};Username={database}_owner;Password={password};Database={database}</c>.
    /// </summary>
    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host=127.0.0.1;Port={Parent.PrimaryEndpoint.Property(EndpointProperty.Port)};Username={OwnerRole};Password={Password};Database={DatabaseName}");
}

/// <summary><c>AddPostgresServer</c> and <c>AddDatabase</c>: PostgreSQL from Debian's binaries, for run mode.</summary>
public static partial class LocalPostgres
{
    /// <summary>
    /// Adds a PostgreSQL server on a free loopback port, and the <c>{name}-init</c> resource that runs <c>initdb</c>
    /// once (a data folder that has <c>PG_VERSION</c> is kept). Healthy when <c>SELECT 1</c> answers over its socket.
    /// </summary>
    /// <exception cref="InvalidOperationException">No PostgreSQL binaries under <c>/usr/lib/postgresql</c> (install the <c>postgresql</c> package).</exception>
    public static IResourceBuilder<LocalPostgresServerResource> AddPostgresServer(this IDistributedApplicationBuilder builder, string name)
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0).FirstOrDefault()
            : null;
        if (bin is null)
        {
            throw new InvalidOperationException("PostgreSQL was not found under /usr/lib/postgresql/*/bin: install it with `apt-get install postgresql` (scripts/install-deps.sh).");
        }
        var asRoot = OperatingSystem.IsLinux() && Environment.UserName == "root";
        var data = LocalDataDirectory.For(builder, name, asRoot ? "postgres" : null);
        // As root the server runs as postgres: setpriv execs (no process in between), so DCP's signals reach PostgreSQL.
        string[] asPostgres = asRoot ? ["--reuid=postgres", "--regid=postgres", "--init-groups", "--"] : [];

        var password = ParameterResourceBuilderExtensions.CreateDefaultPasswordParameter(builder, $"{name}-password", special: false);
        var server = new LocalPostgresServerResource(name, asRoot ? "setpriv" : Path.Combine(bin, "postgres"), data, password);
        var init = builder.AddExecutable($"{name}-init", "/bin/sh", Path.GetDirectoryName(data)!, "-c",
                (asRoot ? "chown postgres:postgres \"$PGDATA\" && chmod 700 \"$PGDATA\" && " : "chmod 700 \"$PGDATA\" && ")
                + "if [ -f \"$PGDATA/PG_VERSION\" ]; then echo \"$PGDATA is initialised\"; else exec "
                + string.Concat(asRoot ? "setpriv " + string.Join(' ', asPostgres) + " " : "")
                + "\"$PGBIN/initdb\" -D \"$PGDATA\" -U postgres -E UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256; fi")
            .WithEnvironment("PGDATA", data)
            .WithEnvironment("PGBIN", bin);

        var resource = builder.AddResource(server)
            .WithEndpoint(name: LocalPostgresServerResource.EndpointName, scheme: "tcp", isProxied: false)
            .WithArgs(context =>
            {
                foreach (var arg in asPostgres)
                {
                    context.Args.Add(arg);
                }
                if (asRoot)
                {
                    context.Args.Add(Path.Combine(bin, "postgres"));
                }
                context.Args.Add("-D");
                context.Args.Add(data);
                context.Args.Add("-k");
                context.Args.Add(data);
                context.Args.Add("-p");
                context.Args.Add(server.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
                // Loopback only; room for two Api replicas' pools (Npgsql's default Max Pool Size is 100 each); no fsync:
                // this is a development server whose data a crash may lose, and fsync would be most of its CPU per reply.
                foreach (var setting in new[] { "listen_addresses=127.0.0.1", "max_connections=200", "fsync=off" })
                {
                    context.Args.Add("-c");
                    context.Args.Add(setting);
                }
            })
            .WaitForCompletion(init)
            .OnResourceReady((postgres, @event, cancellationToken) => CreateDatabasesAsync(postgres, @event.Services, cancellationToken));
        init.WithParentRelationship(resource);

        var check = $"{name}_check";
        builder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            check, _ => new SelectOneHealthCheck(() => Task.FromResult(server.SocketConnectionString())), null, null, TimeSpan.FromSeconds(5)));
        return resource.WithHealthCheck(check);
    }

    /// <summary>
    /// Adds a database to the server, owned by the non-superuser login role <c>{database}_owner</c> with a generated
    /// password (secret parameter <c>{name}-password</c>). Healthy when its owner can connect to it.
    /// </summary>
    /// <param name="builder">The server.</param>
    /// <param name="name">Resource and connection string name.</param>
    /// <param name="databaseName">Name inside PostgreSQL; defaults to <paramref name="name"/>. Letters, digits and '_' only.</param>
    /// <exception cref="ArgumentException">The database name is empty, longer than 57 characters or holds other characters.</exception>
    public static IResourceBuilder<LocalPostgresDatabaseResource> AddDatabase(
        this IResourceBuilder<LocalPostgresServerResource> builder, string name, string? databaseName = null)
    {
        databaseName ??= name;
        if (databaseName.Length is 0 or > 57 || !databaseName.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            throw new ArgumentException($"Database name '{databaseName}' must be 1 to 57 letters, digits or '_' (its owner role adds '_owner').", nameof(databaseName));
        }
        var password = ParameterResourceBuilderExtensions.CreateDefaultPasswordParameter(builder.ApplicationBuilder, $"{name}-password", special: false);
        var database = new LocalPostgresDatabaseResource(name, databaseName, password, builder.Resource);
        builder.Resource.Databases.Add(database);
        var check = $"{name}_check";
        builder.ApplicationBuilder.Services.AddHealthChecks().Add(new HealthCheckRegistration(
            check, _ => new SelectOneHealthCheck(async () => (await database.ConnectionStringExpression.GetValueAsync(default).ConfigureAwait(false))! + ";Pooling=false;Timeout=3"),
            null, null, TimeSpan.FromSeconds(5)));
        return builder.ApplicationBuilder.AddResource(database).WithHealthCheck(check);
    }

    private static async Task CreateDatabasesAsync(LocalPostgresServerResource server, IServiceProvider services, CancellationToken cancellationToken)
    {
        var logger = services.GetRequiredService<ResourceLoggerService>().GetLogger(server);
        await using var connection = new NpgsqlConnection(server.SocketConnectionString());
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, $"ALTER ROLE {LocalPostgresServerResource.SuperUser} PASSWORD {Literal(await server.Password.GetValueAsync(cancellationToken).ConfigureAwait(false))}", cancellationToken).ConfigureAwait(false);
        foreach (var database in server.Databases)
        {
            var password = Literal(await database.Password.GetValueAsync(cancellationToken).ConfigureAwait(false));
            await ExecuteAsync(connection, $"""
                DO $$ BEGIN
                  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{database.OwnerRole}') THEN CREATE ROLE {database.OwnerRole}; END IF;
                END $$;
                ALTER ROLE {database.OwnerRole} LOGIN NOSUPERUSER CREATEDB NOCREATEROLE PASSWORD {password};
                """, cancellationToken).ConfigureAwait(false);
            await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection);
            exists.Parameters.AddWithValue("name", database.DatabaseName);
            if (await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
            {
                await ExecuteAsync(connection, $"CREATE DATABASE {database.DatabaseName} OWNER {database.OwnerRole}", cancellationToken).ConfigureAwait(false);
                LogDatabaseCreated(logger, database.DatabaseName, database.OwnerRole);
            }
            // A database is a resource without a process of its own: it runs once it exists (its health check then tells).
            await services.GetRequiredService<ResourceNotificationService>().PublishUpdateAsync(database, snapshot => snapshot with
            {
                State = KnownResourceStates.Running,
                StartTimeStamp = snapshot.StartTimeStamp ?? DateTime.UtcNow,
            }).ConfigureAwait(false);
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    // Generated passwords are letters and digits; quoting still doubles any quote.
    private static string Literal(string? value) => $"'{(value ?? "").Replace("'", "''", StringComparison.Ordinal)}'";

    [LoggerMessage(Level = LogLevel.Information, Message = "Created database {Database} owned by {Role}")]
    private static partial void LogDatabaseCreated(ILogger logger, string database, string role);

    /// <summary><c>SELECT 1</c> on a new, unpooled connection.</summary>
    private sealed class SelectOneHealthCheck(Func<Task<string>> connectionString) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await using var connection = new NpgsqlConnection(await connectionString().ConfigureAwait(false));
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                return HealthCheckResult.Healthy();
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException or System.Net.Sockets.SocketException)
            {
                return HealthCheckResult.Unhealthy(ex.Message);
            }
        }
    }
}
