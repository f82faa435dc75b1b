namespace AiStreaming.Api.Data;

/// <summary>Registers PostgreSQL for the Api: the shared client integration and the schema migrator.</summary>
public static class DataExtensions
{
    /// <summary>Name of the connection string (<c>ConnectionStrings:messages</c>), as Aspire's <c>AddDatabase("messages")</c> injects it.</summary>
    public const string ConnectionName = "messages";

    /// <summary>
    /// Adds the data source (Aspire.Npgsql's <c>AddNpgsqlDataSource("messages")</c>: data source, tracing, metrics and
    /// a readiness check) and the <see cref="SchemaMigrator"/> (a hosted service registered
    /// before the others, so the schema exists before anything else starts or the server listens).
    /// </summary>
    /// <param name="builder">The application builder.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="InvalidOperationException"><c>ConnectionStrings:messages</c> is missing.</exception>
    public static IHostApplicationBuilder AddData(this IHostApplicationBuilder builder)
    {
        builder.AddNpgsqlDataSource(ConnectionName);
        builder.Services.AddHostedService<SchemaMigrator>();
        return builder;
    }
}
