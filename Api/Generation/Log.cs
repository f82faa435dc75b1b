namespace AiStreaming.Api.Generation;

/// <summary>Source-generated log messages of the generation feature.</summary>
internal static partial class Log
{
    [LoggerMessage(2001, LogLevel.Information, "Using the simulated model (no ConnectionStrings:chat)")]
    public static partial void UsingSimulatedModel(this ILogger logger);

    [LoggerMessage(2002, LogLevel.Information, "Using model {Model} at {Endpoint}")]
    public static partial void UsingModel(this ILogger logger, string model, Uri endpoint);

    [LoggerMessage(2003, LogLevel.Warning, "message.started of {MessageId} not published ({Reason}); the generation proceeds without a start position")]
    public static partial void StartedNotPublished(this ILogger logger, Guid messageId, string reason);

    [LoggerMessage(2004, LogLevel.Warning, "Start position of {MessageId} not stored ({Reason})")]
    public static partial void StartPositionNotStored(this ILogger logger, Guid messageId, string reason);

    [LoggerMessage(2005, LogLevel.Warning, "Deltas of {MessageId} cannot be published ({Reason}); text is kept and sent with the next flush")]
    public static partial void DeltaPublishFailed(this ILogger logger, Guid messageId, string reason);

    [LoggerMessage(2006, LogLevel.Information, "Deltas of {MessageId} are published again")]
    public static partial void DeltaPublishRecovered(this ILogger logger, Guid messageId);

    [LoggerMessage(2007, LogLevel.Warning, "Checkpoint of {MessageId} failed ({Reason})")]
    public static partial void CheckpointFailed(this ILogger logger, Guid messageId, string reason);

    [LoggerMessage(2008, LogLevel.Warning, "This run no longer owns {MessageId} (taken over); its generation stops without writing")]
    public static partial void OwnershipLost(this ILogger logger, Guid messageId);

    [LoggerMessage(2009, LogLevel.Warning, "Renewing {Count} lease(s) failed ({Reason})")]
    public static partial void LeaseRenewalFailed(this ILogger logger, int count, string reason);

    [LoggerMessage(2010, LogLevel.Warning, "The model call of {MessageId} failed")]
    public static partial void ModelFailed(this ILogger logger, Exception exception, Guid messageId);

    [LoggerMessage(2011, LogLevel.Information, "Generation of {MessageId} ended {Status} (code {Code}) after {Tokens} token(s)")]
    public static partial void GenerationEnded(this ILogger logger, Guid messageId, string status, string code, int tokens);

    [LoggerMessage(2012, LogLevel.Warning, "Message {MessageId} was already ended by another instance (fenced out); nothing written")]
    public static partial void FencedOut(this ILogger logger, Guid messageId);

    [LoggerMessage(2013, LogLevel.Error, "Could not store the end of {MessageId}; the lease sweeper will fail it")]
    public static partial void FinishFailed(this ILogger logger, Exception exception, Guid messageId);

    [LoggerMessage(2014, LogLevel.Warning, "Terminal event of {MessageId} left to the outbox relay ({Reason})")]
    public static partial void TerminalPublishDeferred(this ILogger logger, Guid messageId, string reason);

    [LoggerMessage(2015, LogLevel.Information, "Cancel of {MessageId} requested ({Route})")]
    public static partial void CancelRequested(this ILogger logger, Guid messageId, string route);

    [LoggerMessage(2016, LogLevel.Information, "Cancelled {MessageId} on a control message")]
    public static partial void CancelledByControlMessage(this ILogger logger, Guid messageId);

    [LoggerMessage(2017, LogLevel.Warning, "Cannot subscribe to cancel requests yet ({Reason}); retrying")]
    public static partial void CancelSubscriptionFailed(this ILogger logger, string reason);

    [LoggerMessage(2018, LogLevel.Information, "Stopping: draining {Count} running generation(s) for up to {DrainTimeout}")]
    public static partial void Draining(this ILogger logger, int count, TimeSpan drainTimeout);

    [LoggerMessage(2021, LogLevel.Information, "The delta of {MessageId} whose publish timed out was published at offset {Offset}; not sending it again")]
    public static partial void UncertainDeltaWasPublished(this ILogger logger, Guid messageId, long offset);

    [LoggerMessage(2019, LogLevel.Warning, "Claimed {Count} generation(s) whose owner's lease expired")]
    public static partial void LeasesSwept(this ILogger logger, int count);

    [LoggerMessage(2020, LogLevel.Warning, "Lease sweep failed ({Reason})")]
    public static partial void SweepFailed(this ILogger logger, string reason);

    [LoggerMessage(2022, LogLevel.Information, "Cancelled {MessageId}: nobody watched its channel for {AbandonAfter} (abandoned)")]
    public static partial void Abandoned(this ILogger logger, Guid messageId, TimeSpan abandonAfter);

    [LoggerMessage(2023, LogLevel.Warning, "Cannot read presence for abandonment ({Reason}); no generation is abandoned meanwhile")]
    public static partial void AbandonCheckFailed(this ILogger logger, string reason);

    [LoggerMessage(2024, LogLevel.Warning, "Admission control unavailable for {MessageId} ({Reason}); admitting without a slot")]
    public static partial void AdmissionUnavailable(this ILogger logger, Guid messageId, string reason);

    [LoggerMessage(2026, LogLevel.Warning, "Admission slots of {Count} running generations not renewed while Redis is unavailable ({Reason}); they keep running")]
    public static partial void AdmissionRenewalUnavailable(this ILogger logger, int count, string reason);

    [LoggerMessage(2031, LogLevel.Warning, "Publish of {MessageId} refused: run {Run} was taken over by another process (fenced); it stops")]
    public static partial void PublishFenced(this ILogger logger, Guid messageId, int run);

    [LoggerMessage(2027, LogLevel.Warning, "Took over {MessageId} as {Owner} at {Length} characters streamed; continuing it")]
    public static partial void TakenOver(this ILogger logger, Guid messageId, string owner, int length);

    [LoggerMessage(2028, LogLevel.Warning, "Cannot continue {MessageId} after takeover {Run} ({Reason}); it ends generation_lost with the text streamed so far")]
    public static partial void TakeoverImpossible(this ILogger logger, Guid messageId, int run, string reason);

    [LoggerMessage(2029, LogLevel.Warning, "Takeover of {MessageId} deferred ({Reason}); its claim lapses and is taken again")]
    public static partial void TakeoverDeferred(this ILogger logger, Guid messageId, string reason);

    [LoggerMessage(2030, LogLevel.Warning, "message.resumed of {MessageId} not published ({Reason}); the reply continues")]
    public static partial void ResumedNotPublished(this ILogger logger, Guid messageId, string reason);

    [LoggerMessage(2025, LogLevel.Warning, "message.queued of {MessageId} not published ({Reason})")]
    public static partial void QueuedNotPublished(this ILogger logger, Guid messageId, string reason);
}
