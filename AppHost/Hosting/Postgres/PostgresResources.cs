using AiStreaming.AppHost.Hosting.Runtime;
using Npgsql;

namespace AiStreaming.AppHost.Hosting;

/// <summary>
/// A PostgreSQL server run from Debian's binaries (<c>/usr/lib/postgresql/{version}/bin</c>) on a loopback port, its data
/// in <c>{DataRoot}/{name}</c>, initialised once with user <c>postgres</c> and a random password kept in
/// <c>{DataRoot}/{name}.password</c>. Healthy when a connection opens and every database added with <c>AddDatabase</c> exists.
/// </summary>
/// <param name="name">The resource name; <c>WithReference</c> of the server gives <c>ConnectionStrings__{name}</c> without a database.</param>
public sealed class PostgresServerResource(string name) : Resource(name), IResourceWithConnectionString, IResourceWithWaitSupport, IResourceWithEndpoints
{
    /// <summary>The superuser the server is initialised with.</summary>
    public const string UserName = "postgres";

    private readonly List<PostgresDatabaseResource> _databases = [];

    /// <summary>The databases created on this server when it becomes healthy.</summary>
    public IReadOnlyList<PostgresDatabaseResource> Databases => _databases;

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
        var endpoint = this.Endpoint()!;
        var cs = $"Host=127.0.0.1;Port={endpoint.Port ?? throw endpoint.NotAllocated()};Username={UserName};Password={Password}";
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

/// <summary><c>AddPostgres</c> and <c>AddDatabase</c>, as Aspire's.</summary>
public static class PostgresResourceBuilderExtensions
{
    /// <summary>Adds a PostgreSQL server (Debian's binaries, user <c>postgres</c>, generated password) on a free loopback port, or on <paramref name="port"/>.
    /// It is not started when every database on it was given by connection string and nothing else uses it.</summary>
    public static IResourceBuilder<PostgresServerResource> AddPostgres(this IDistributedApplicationBuilder builder, string name, int? port = null)
    {
        var server = new PostgresServerResource(name);
        server.Annotations.Add(new EndpointAnnotation("tcp") { RequestedPort = port });
        server.Annotations.Add(new ResourceLifecycleAnnotation(context =>
        {
            if (server.ExternalConnectionString is not null || !IsNeeded(server, context.Resources))
            {
                return new VirtualDriver(context.Host, server.ExternalConnectionString is null ? "PostgreSQL (not started)" : "PostgreSQL (external)",
                    _ => ExternalEndpoint(server.ExternalConnectionString));
            }
            server.Password = PostgresDriver.LoadOrCreatePassword(context.Host.DataRoot, server);
            foreach (var database in server.Databases.Where(d => d.ExternalConnectionString is null))
            {
                database.OwnerPassword = PostgresDriver.LoadOrCreateOwnerPassword(context.Host.DataRoot, server, database);
            }
            return new PostgresDriver(context.Host, server);
        }));
        return builder.AddResource(server);
    }

    /// <summary>Adds a database to a PostgreSQL server; it is created when the server first becomes healthy, and is as available as its server.</summary>
    /// <param name="builder">The server.</param>
    /// <param name="name">The resource name (and connection string name).</param>
    /// <param name="databaseName">The database's name inside PostgreSQL; defaults to <paramref name="name"/>.</param>
    /// <exception cref="ArgumentException">The database name is longer than 63 characters or holds other than letters, digits, '_' or '-'.</exception>
    public static IResourceBuilder<PostgresDatabaseResource> AddDatabase(
        this IResourceBuilder<PostgresServerResource> builder, string name, string? databaseName = null)
    {
        databaseName ??= name;
        if (databaseName.Length > 63 || !databaseName.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
        {
            throw new ArgumentException($"Database name '{databaseName}' must be at most 63 letters, digits, '_' or '-'.", nameof(databaseName));
        }
        var server = builder.Resource;
        var database = new PostgresDatabaseResource(name, databaseName, server);
        database.Annotations.Add(new ResourceRelationshipAnnotation(server, "Parent"));
        database.Annotations.Add(new ResourceLifecycleAnnotation(context => database.ExternalConnectionString is { } external
            ? new VirtualDriver(context.Host, "Database (external)", _ => ExternalEndpoint(external))
            : new DatabaseDriver(context.Host, server)));
        database.Annotations.Add(new WaitAnnotation(server));
        var result = builder.ApplicationBuilder.AddResource(database);
        server.AddDatabase(database);
        return result;
    }

    private static bool IsNeeded(PostgresServerResource server, ResourceCollection resources) =>
        server.Databases.Count == 0
        || server.Databases.Any(d => d.ExternalConnectionString is null)
        || resources.Any(r => r.WaitsFor().Contains(server) || r.Annotations.OfType<ResourceRelationshipAnnotation>().Any(a => a.Resource == server && a.Type == "Reference"));

    private static Uri ExternalEndpoint(string? connectionString)
    {
        try
        {
            var pg = new NpgsqlConnectionStringBuilder(connectionString);
            return new Uri($"tcp://{pg.Host}:{pg.Port}");
        }
        catch (Exception ex) when (ex is UriFormatException or ArgumentException or FormatException)
        {
            return new Uri("external://postgres");
        }
    }
}
