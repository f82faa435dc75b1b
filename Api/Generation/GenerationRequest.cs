namespace AiStreaming.Api.Generation;

/// <summary>One earlier message of the conversation, as sent to the model.</summary>
/// <param name="Role"><c>user</c> or <c>assistant</c>.</param>
/// <param name="Content">Message text.</param>
public sealed record ChatTurn(string Role, string Content);

/// <summary>What a generation needs: the stored exchange and the conversation so far.</summary>
/// <param name="ConversationId">Conversation.</param>
/// <param name="UserMessageId">The user message being answered.</param>
/// <param name="MessageId">The assistant message (status <c>streaming</c>, owned by this instance).</param>
/// <param name="UserContent">The user message's text.</param>
/// <param name="History">Earlier completed messages, oldest first (without the new user message).</param>
public sealed record GenerationRequest(
    Guid ConversationId, Guid UserMessageId, Guid MessageId, string UserContent, IReadOnlyList<ChatTurn> History);

/// <summary>Terminal state of a message as written by a generation or the lease sweeper.</summary>
/// <param name="Status"><c>completed</c>, <c>failed</c> or <c>cancelled</c>.</param>
/// <param name="Code">Failure code (docs/protocol.md), for <c>failed</c> only.</param>
/// <param name="Message">Human-readable failure reason, for <c>failed</c> only.</param>
/// <param name="Reason">Why it was cancelled (<see cref="CancelReasons"/>), for <c>cancelled</c> only.</param>
public sealed record MessageOutcome(string Status, string? Code = null, string? Message = null, string? Reason = null)
{
    /// <summary>The generation completed.</summary>
    public static MessageOutcome Completed { get; } = new(MessageStatus.Completed);

    /// <summary>A user cancelled the generation.</summary>
    public static MessageOutcome Cancelled { get; } = new(MessageStatus.Cancelled, Reason: CancelReasons.User);

    /// <summary>Nobody watched the channel for <see cref="GenerationOptions.AbandonAfter"/>.</summary>
    public static MessageOutcome Abandoned { get; } = new(MessageStatus.Cancelled, Reason: CancelReasons.Abandoned);

    /// <summary>The generation failed.</summary>
    /// <param name="code">One of <see cref="FailureCodes"/>.</param>
    /// <param name="message">Reason.</param>
    public static MessageOutcome Failed(string code, string message) => new(MessageStatus.Failed, code, message);
}

/// <summary>Values of <c>messages.status</c> (and of <c>Message.status</c> on the wire).</summary>
public static class MessageStatus
{
    /// <summary>Final text stored.</summary>
    public const string Completed = "completed";

    /// <summary>A reply is being generated; <c>content</c> holds the last checkpoint.</summary>
    public const string Streaming = "streaming";

    /// <summary>The generation failed; <c>content</c> holds the partial text.</summary>
    public const string Failed = "failed";

    /// <summary>A user cancelled the generation; <c>content</c> holds the partial text.</summary>
    public const string Cancelled = "cancelled";
}

/// <summary>Failure codes of <c>message.failed</c> (docs/protocol.md).</summary>
public static class FailureCodes
{
    /// <summary>No first token within <see cref="GenerationOptions.FirstTokenTimeout"/>.</summary>
    public const string FirstTokenTimeout = "first_token_timeout";

    /// <summary>No token for <see cref="GenerationOptions.InactivityTimeout"/>.</summary>
    public const string InactivityTimeout = "inactivity_timeout";

    /// <summary>Not complete within <see cref="GenerationOptions.TotalTimeout"/>.</summary>
    public const string TotalTimeout = "total_timeout";

    /// <summary>The model call failed.</summary>
    public const string ModelError = "model_error";

    /// <summary>The owning Api instance stopped (crash: lease expired; shutdown: drain timeout elapsed).</summary>
    public const string GenerationLost = "generation_lost";

    /// <summary>The request waited for a model slot longer than <see cref="GenerationOptions.MaxQueueWait"/>.</summary>
    public const string QueueTimeout = "queue_timeout";
}

/// <summary>Values of <c>reason</c> in <c>message.cancelled</c> (docs/protocol.md).</summary>
public static class CancelReasons
{
    /// <summary>A user asked to cancel (POST cancel).</summary>
    public const string User = "user";

    /// <summary>Nobody watched the channel for <see cref="GenerationOptions.AbandonAfter"/>.</summary>
    public const string Abandoned = "abandoned";
}
