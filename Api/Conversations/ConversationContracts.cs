namespace AiStreaming.Api.Conversations;

/// <summary>Body of <c>POST /api/conversations</c>.</summary>
/// <param name="Title">Optional title (≤ 200 characters); when absent the first user message names the conversation.</param>
public sealed record CreateConversationRequest(string? Title);

/// <summary>Body of <c>POST /api/conversations/{id}/messages</c>.</summary>
/// <param name="Content">The user's message: required, not blank, at most <c>Generation:MaxPromptChars</c> characters.</param>
public sealed record PostMessageRequest(string? Content);

/// <summary>A conversation in lists (<c>ConversationSummary</c> in docs/protocol.md).</summary>
/// <param name="Id">Conversation id.</param>
/// <param name="Title">Title, or <see langword="null"/> until the first message names it.</param>
/// <param name="CreatedAt">Creation time (UTC).</param>
/// <param name="UpdatedAt">Time of the last change (new message, reply ended).</param>
public sealed record ConversationSummary(Guid Id, string? Title, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>A conversation with its messages (<c>Conversation</c> in docs/protocol.md).</summary>
/// <param name="Id">Conversation id.</param>
/// <param name="Title">Title, or <see langword="null"/>.</param>
/// <param name="CreatedAt">Creation time (UTC).</param>
/// <param name="UpdatedAt">Time of the last change.</param>
/// <param name="Channel">The conversation's channel, <c>conv:{id}</c>.</param>
/// <param name="Messages">Messages, oldest first.</param>
public sealed record Conversation(
    Guid Id, string? Title, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, string Channel, IReadOnlyList<Message> Messages);

/// <summary>A message (<c>Message</c> in docs/protocol.md).</summary>
/// <param name="Id">Message id.</param>
/// <param name="ConversationId">Conversation id.</param>
/// <param name="Role"><c>user</c> or <c>assistant</c>.</param>
/// <param name="Content">Text: final, or while <c>streaming</c> the last checkpoint, or the partial text of a failed/cancelled reply.</param>
/// <param name="Status"><c>completed</c>, <c>streaming</c>, <c>failed</c> or <c>cancelled</c>.</param>
/// <param name="Error">Why it failed, or <see langword="null"/>.</param>
/// <param name="Epoch">Epoch of the <c>message.started</c> event, or <see langword="null"/>.</param>
/// <param name="StartOffset">Offset of the <c>message.started</c> event, or <see langword="null"/>; subscribe with <c>sinceOffset = startOffset - 1</c> to replay the reply.</param>
/// <param name="CreatedAt">Creation time (UTC).</param>
/// <param name="CompletedAt">When it reached a terminal status, or <see langword="null"/>.</param>
public sealed record Message(
    Guid Id, Guid ConversationId, string Role, string Content, string Status, MessageError? Error,
    string? Epoch, long? StartOffset, DateTimeOffset CreatedAt, DateTimeOffset? CompletedAt);

/// <summary>Failure of a message.</summary>
/// <param name="Code">Failure code (docs/protocol.md), e.g. <c>first_token_timeout</c>, <c>generation_lost</c>.</param>
/// <param name="Message">Human-readable reason.</param>
public sealed record MessageError(string Code, string? Message);

/// <summary>Answer of <c>POST /api/conversations/{id}/messages</c> (202).</summary>
/// <param name="ConversationId">Conversation id.</param>
/// <param name="UserMessageId">The stored user message.</param>
/// <param name="MessageId">The assistant message being generated.</param>
/// <param name="Channel">Channel carrying the reply's events.</param>
/// <param name="Epoch">Epoch of <c>message.started</c>, or <see langword="null"/> if Redis was unavailable.</param>
/// <param name="StartOffset">Offset of <c>message.started</c>, or <see langword="null"/> if Redis was unavailable.</param>
public sealed record MessageAccepted(Guid ConversationId, Guid UserMessageId, Guid MessageId, string Channel, string? Epoch, long? StartOffset);

/// <summary>Answer of <c>GET /api/conversations/{id}/token</c>: a subscription token for the conversation's channel.</summary>
/// <param name="Channel">The channel, <c>conv:{id}</c>.</param>
/// <param name="Token">Compact JWT (HS256; claims <c>sub</c>, <c>channel</c>, <c>exp</c>) for Subscribe and SSE.</param>
/// <param name="ExpiresAt">When it expires (UTC); fetch a new one before and subscribe again from the last position.</param>
public sealed record SubscriptionTokenAnswer(string Channel, string Token, DateTimeOffset ExpiresAt);
