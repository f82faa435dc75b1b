namespace AiStreaming.Api.Data;

/// <summary>Source-generated log messages of the data feature.</summary>
internal static partial class Log
{
    [LoggerMessage(1001, LogLevel.Information, "PostgreSQL is not reachable yet (attempt {Attempt}, {Reason}); retrying for up to {Window}")]
    public static partial void WaitingForDatabase(this ILogger logger, int attempt, string reason, TimeSpan window);

    [LoggerMessage(1002, LogLevel.Information, "Created database {Database}")]
    public static partial void CreatedDatabase(this ILogger logger, string database);

    [LoggerMessage(1003, LogLevel.Information, "Applied migration {Version} ({Name})")]
    public static partial void AppliedMigration(this ILogger logger, int version, string name);

    [LoggerMessage(1004, LogLevel.Information, "Database schema is at version {Version}")]
    public static partial void SchemaReady(this ILogger logger, int version);
}
