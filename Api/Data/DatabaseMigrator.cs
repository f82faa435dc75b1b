using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Npgsql;

namespace AiStreaming.Api.Data;

/// <summary>
/// Applies the embedded SQL migrations (<c>Data/Migrations/NNNN_name.sql</c>, in version order) when the Api starts,
/// before the other hosted services and before the server listens.
/// </summary>
/// <remarks>
/// All pending migrations run in one transaction that first takes <c>pg_advisory_xact_lock</c>, so concurrent Api
/// replicas apply each version exactly once; applied versions are recorded in
/// <c>schema_migrations(version int primary key, applied_at timestamptz)</c>. PostgreSQL may still be starting
/// when the Api starts: the first connection is retried for up to <see cref="StartupRetryWindow"/>, and a missing
/// database is created (the AppHost may hand over a server without it).
/// </remarks>
/// <param name="dataSource">The Api's data source.</param>
/// <param name="configuration">Configuration holding <c>ConnectionStrings:messages</c> (with its password, which the data source does not reveal).</param>
/// <param name="logger">Logger.</param>
internal sealed class DatabaseMigrator(NpgsqlDataSource dataSource, IConfiguration configuration, ILogger<DatabaseMigrator> logger) : IHostedService
{
    /// <summary>How long startup waits for PostgreSQL to accept connections before failing.</summary>
    public static readonly TimeSpan StartupRetryWindow = TimeSpan.FromSeconds(30);

    // Arbitrary application-wide key of the migration advisory lock ("AISMIGR" in ASCII).
    private const long MigrationLockKey = 0x41_49_53_4D_49_47_52;

    /// <summary>Migrations embedded in this assembly, in version order.</summary>
    /// <returns>(version, resource name, SQL) triples.</returns>
    public static IReadOnlyList<(int Version, string Name, string Sql)> LoadMigrations()
    {
        var assembly = typeof(DatabaseMigrator).Assembly;
        var migrations = new List<(int, string, string)>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("Migrations/", StringComparison.Ordinal)))
        {
            var name = resource["Migrations/".Length..];
            var digits = new string(name.TakeWhile(char.IsAsciiDigit).ToArray());
            var version = int.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
            using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
            migrations.Add((version, name, reader.ReadToEnd()));
        }
        return [.. migrations.OrderBy(m => m.Item1)];
    }

    /// <inheritdoc/>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        using var activity = ApiTelemetry.ActivitySource.StartActivity("database.migrate");
        await WaitForDatabaseAsync(cancellationToken);
        await MigrateAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task WaitForDatabaseAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
                return;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InvalidCatalogName)
            {
                await CreateDatabaseAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException && started.Elapsed < StartupRetryWindow)
            {
                logger.WaitingForDatabase(attempt, ex.Message, StartupRetryWindow);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }

    private async Task CreateDatabaseAsync(CancellationToken cancellationToken)
    {
        // NpgsqlDataSource.ConnectionString omits the password: start from the configured string.
        var configured = configuration.GetConnectionString(DataExtensions.ConnectionName) ?? dataSource.ConnectionString;
        var target = new NpgsqlConnectionStringBuilder(configured);
        var database = target.Database ?? throw new InvalidOperationException("The connection string names no database.");
        var maintenance = new NpgsqlConnectionStringBuilder(configured) { Database = "postgres", Pooling = false };
        await using var connection = new NpgsqlConnection(maintenance.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"CREATE DATABASE \"{database.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
            logger.CreatedDatabase(database);
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation)
        {
            // Another replica created it first (a concurrent CREATE DATABASE can also fail on pg_database's unique index).
        }
    }

    private async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await using (var command = new NpgsqlCommand(
            """
            SELECT pg_advisory_xact_lock(@key);
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version     int PRIMARY KEY,
                applied_at  timestamptz NOT NULL DEFAULT now()
            );
            """, connection, transaction))
        {
            command.Parameters.AddWithValue("key", MigrationLockKey);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        var applied = new HashSet<int>();
        await using (var command = new NpgsqlCommand("SELECT version FROM schema_migrations", connection, transaction))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                applied.Add(reader.GetInt32(0));
            }
        }

        var current = applied.Count == 0 ? 0 : applied.Max();
        foreach (var (version, name, sql) in LoadMigrations().Where(m => !applied.Contains(m.Version)))
        {
            await using (var command = new NpgsqlCommand(sql, connection, transaction))
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            await using (var command = new NpgsqlCommand("INSERT INTO schema_migrations (version) VALUES (@version)", connection, transaction))
            {
                command.Parameters.AddWithValue("version", version);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            logger.AppliedMigration(version, name);
            current = Math.Max(current, version);
        }

        await transaction.CommitAsync(cancellationToken);
        logger.SchemaReady(current);
    }
}
