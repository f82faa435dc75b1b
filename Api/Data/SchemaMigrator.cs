using System.Globalization;
using EvolveDb;
using Npgsql;
using Polly.Registry;

namespace AiStreaming.Api.Data;

/// <summary>
/// Applies the embedded SQL migrations (<c>Data/Migrations/V{version}__{description}.sql</c>) with Evolve when the Api
/// starts, before the other hosted services and before the server listens.
/// </summary>
/// <remarks>
/// Evolve records each applied script with its checksum in <c>changelog</c> and refuses to start when an applied
/// script was changed afterwards; its cluster mode holds a PostgreSQL advisory lock while migrating, so replicas
/// starting together apply each version once. PostgreSQL may still be starting: connecting is retried on the
/// <see cref="ApiResilience.DatabaseStartup"/> pipeline, and a missing database is created (the AppHost may hand
/// over a server without it).
/// </remarks>
/// <param name="dataSource">The Api's data source.</param>
/// <param name="configuration">Configuration holding <c>ConnectionStrings:messages</c> (with its password, which the data source does not reveal).</param>
/// <param name="pipelines">Resilience pipelines.</param>
/// <param name="logger">Logger.</param>
internal sealed class SchemaMigrator(
    NpgsqlDataSource dataSource, IConfiguration configuration, ResiliencePipelineProvider<string> pipelines, ILogger<SchemaMigrator> logger)
    : IHostedService
{
    /// <summary>Prefix of the migrations' manifest resource names (see Api.csproj).</summary>
    public const string ResourcePrefix = "AiStreaming.Api.Migrations.";

    /// <summary>Evolve's table of applied scripts (version, name, checksum, success).</summary>
    public const string ChangelogTable = "changelog";

    /// <summary>The embedded migrations' versions, ascending (from their names: <c>V0002__x.sql</c> is 2).</summary>
    public static IReadOnlyList<int> Versions() =>
    [
        .. typeof(SchemaMigrator).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix + "V", StringComparison.Ordinal))
            .Select(n => int.Parse(n[(ResourcePrefix.Length + 1)..n.IndexOf("__", StringComparison.Ordinal)], NumberStyles.None, CultureInfo.InvariantCulture))
            .Order(),
    ];

    /// <inheritdoc/>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        using var activity = ApiTelemetry.ActivitySource.StartActivity("database.migrate");
        await pipelines.GetPipeline(ApiResilience.DatabaseStartup).ExecuteAsync(async token =>
        {
            try
            {
                await using var probe = await dataSource.OpenConnectionAsync(token);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InvalidCatalogName)
            {
                await CreateDatabaseAsync(token);
                throw new TimeoutException("The database was just created; connecting again.", ex);
            }
            catch (NpgsqlException ex)
            {
                logger.WaitingForDatabase(ex.Message);
                throw;
            }
        }, cancellationToken);

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // dbms named: otherwise Evolve detects the database by trying MySQL's SHOW VARIABLES first, an error in every PostgreSQL log.
        var evolve = new Evolve(connection, message => logger.Migrator(message), EvolveDb.Dialect.DBMS.PostgreSQL)
        {
            EmbeddedResourceAssemblies = [typeof(SchemaMigrator).Assembly],
            EmbeddedResourceFilters = [ResourcePrefix],
            MetadataTableName = ChangelogTable,
            EnableClusterMode = true,
            IsEraseDisabled = true,
            CommandTimeout = 60,
        };
        evolve.Migrate();
        logger.SchemaReady(Versions()[^1].ToString(CultureInfo.InvariantCulture), evolve.NbMigration);
    }

    /// <inheritdoc/>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

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
}
