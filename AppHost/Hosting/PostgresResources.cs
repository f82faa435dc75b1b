using Npgsql;

namespace AiStreaming.AppHost.Hosting;

/// <summary>
/// A PostgreSQL server run from Debian's binaries (<c>/usr/lib/postgresql/{version}/bin</c>) on a loopback port, its data
/// in <c>{DataRoot}/postgres</c>, initialised once with user <c>postgres</c> and a random password kept in
/// <c>{DataRoot}/postgres.password</c>. Healthy when a connection opens and every database added with
/// <c>AddDatabase</c> exists.
/// </summary>
/// <param name="name">The resource name; <c>WithReference</c> of the server gives <c>ConnectionStrings__{name}</c> without a database.</param>
public sealed class PostgresServerResource(string name) : Resource(name), IResourceWithConnectionString, IResourceWithWaitSupport, IResourceWithArgs
{
    /// <summary>The superuser the server is initialised with.</summary>
    public const string UserName = "postgres";

    private readonly List<PostgresDatabaseResource> _databases = [];

    /// <summary>The fixed port asked for in <c>AddPostgres</c>, or null for a free loopback port.</summary>
    public int? RequestedPort { get; init; }

    /// <summary>The databases created on this server when it becomes healthy.</summary>
    public IReadOnlyList<PostgresDatabaseResource> Databases => _databases;

    /// <summary>The port allocated when the application was built.</summary>
    internal int? Port { get; set; }

    /// <summary>The superuser password, read from (or first written to) the data root when the application was built.</summary>
    internal string? Password { get; set; }

    /// <summary>The Npgsql connection string to the server, without a database: <c>Host=127.0.0.1;Port=…;Username=postgres;Password=…</c>.</summary>
    public ValueTask<string?> GetConnectionStringAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<string?>(ExternalConnectionString ?? BuildConnectionString(null));

    internal string BuildConnectionString(string? database)
    {
        if (ExternalConnectionString is not null)
        {
            return database is null
                ? ExternalConnectionString
                : new NpgsqlConnectionStringBuilder(ExternalConnectionString) { Database = database }.ConnectionString;
        }
        var port = Port ?? throw RedisResource.NotBuilt(Name);
        var cs = $"Host=127.0.0.1;Port={port};Username={UserName};Password={Password}";
        return database is null ? cs : $"{cs};Database={database}";
    }

    internal void AddDatabase(PostgresDatabaseResource database) => _databases.Add(database);
}

/// <summary>A database on a <see cref="PostgresServerResource"/>, created if missing when the server becomes healthy.</summary>
/// <param name="name">The resource name; referencing projects get <c>ConnectionStrings__{name}</c>.</param>
/// <param name="databaseName">The database's name inside PostgreSQL.</param>
/// <param name="parent">The server.</param>
public sealed class PostgresDatabaseResource(string name, string databaseName, PostgresServerResource parent)
    : Resource(name), IResourceWithConnectionString, IResourceWithWaitSupport, IResourceWithParent<PostgresServerResource>
{
    /// <summary>The database's name inside PostgreSQL.</summary>
    public string DatabaseName { get; } = databaseName;

    /// <inheritdoc />
    public PostgresServerResource Parent { get; } = parent;

    /// <summary>
    /// The login role that owns the database and its <c>public</c> schema: <c>{databaseName}_owner</c>. Projects connect
    /// as this role, never as the superuser, which only the AppHost uses to set the server up.
    /// </summary>
    public string OwnerRole => $"{DatabaseName}_owner";

    /// <summary>The owner role's password, read from (or first written to) <c>{DataRoot}/{server}.{databaseName}.password</c> when built.</summary>
    internal string? OwnerPassword { get; set; }

    /// <summary>
    /// The Npgsql connection string: <c>Host=127.0.0.1;Port={port};Username={databaseName}_owner;Password={pw};Database={databaseName}</c>,
    /// or the one supplied to the AppHost as <c>ConnectionStrings__{name}</c>.
    /// </summary>
    public ValueTask<string?> GetConnectionStringAsync(CancellationToken cancellationToken = default) =>
        ValueTask.FromResult<string?>(ExternalConnectionString ?? (OwnerPassword is null
            ? Parent.BuildConnectionString(DatabaseName)
            : new NpgsqlConnectionStringBuilder(Parent.BuildConnectionString(DatabaseName)) { Username = OwnerRole, Password = OwnerPassword }.ConnectionString));
}
