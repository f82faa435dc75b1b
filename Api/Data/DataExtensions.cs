using Npgsql;

namespace AiStreaming.Api.Data;

/// <summary>Registers PostgreSQL: the data source, the startup migrator and the readiness check.</summary>
public static class DataExtensions
{
    /// <summary>Name of the connection string (<c>ConnectionStrings:messages</c>), as Aspire's <c>AddDatabase("messages")</c> injects it.</summary>
    public const string ConnectionName = "messages";

    /// <summary>
    /// Adds a singleton <see cref="NpgsqlDataSource"/> for <c>ConnectionStrings:messages</c>, the
    /// <see cref="DatabaseMigrator"/> (a hosted service registered before the others, so the schema exists before
    /// anything else starts or the server listens) and a <c>postgres</c> readiness health check.
    /// </summary>
    /// <param name="builder">The application builder.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="InvalidOperationException"><c>ConnectionStrings:messages</c> is missing.</exception>
    public static IHostApplicationBuilder AddData(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(ConnectionName)
            ?? throw new InvalidOperationException($"ConnectionStrings:{ConnectionName} (PostgreSQL) is required.");

        builder.Services.AddSingleton(_ =>
        {
            var dataSource = new NpgsqlDataSourceBuilder(connectionString);
            if (string.IsNullOrEmpty(dataSource.ConnectionStringBuilder.ApplicationName))
            {
                dataSource.ConnectionStringBuilder.ApplicationName = ApiTelemetry.Name;
            }
            return dataSource.Build();
        });
        builder.Services.AddHostedService<DatabaseMigrator>();
        builder.Services.AddHealthChecks().AddCheck<PostgresHealthCheck>("postgres", timeout: TimeSpan.FromSeconds(5));
        return builder;
    }
}
