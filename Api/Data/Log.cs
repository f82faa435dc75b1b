namespace AiStreaming.Api.Data;

/// <summary>Source-generated log messages of the data feature.</summary>
internal static partial class Log
{
    [LoggerMessage(1001, LogLevel.Information, "PostgreSQL is not reachable yet ({Reason}); retrying")]
    public static partial void WaitingForDatabase(this ILogger logger, string reason);

    [LoggerMessage(1002, LogLevel.Information, "Created database {Database}")]
    public static partial void CreatedDatabase(this ILogger logger, string database);

    [LoggerMessage(1003, LogLevel.Information, "Evolve: {Message}")]
    public static partial void Migrator(this ILogger logger, string message);

    [LoggerMessage(1004, LogLevel.Information, "Database schema is at version {Version} ({Applied} migration(s) applied now)")]
    public static partial void SchemaReady(this ILogger logger, string version, int applied);
}
