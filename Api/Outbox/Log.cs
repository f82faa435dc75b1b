namespace AiStreaming.Api.Outbox;

/// <summary>Source-generated log messages of the outbox feature.</summary>
internal static partial class Log
{
    [LoggerMessage(3001, LogLevel.Warning, "Could not publish {Count} outbox event(s) now ({Reason}); the relay will retry")]
    public static partial void OutboxPublishDeferred(this ILogger logger, int count, string reason);

    [LoggerMessage(3002, LogLevel.Information, "Relayed {Count} outbox event(s)")]
    public static partial void OutboxRelayed(this ILogger logger, int count);

    [LoggerMessage(3003, LogLevel.Warning, "Outbox relay cannot publish ({Reason}); retrying every poll interval")]
    public static partial void OutboxRelayFailing(this ILogger logger, string reason);

    [LoggerMessage(3004, LogLevel.Information, "Outbox relay recovered")]
    public static partial void OutboxRelayRecovered(this ILogger logger);

    [LoggerMessage(3005, LogLevel.Error, "Outbox row {Id} is not a publishable event ({Reason}); skipped")]
    public static partial void OutboxPoisonRow(this ILogger logger, long id, string reason);
}
