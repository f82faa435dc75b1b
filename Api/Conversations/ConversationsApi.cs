using System.Security.Claims;
using AiStreaming.Api.Auth;
using AiStreaming.Api.Generation;
using AiStreaming.Api.Redis;
using AiStreaming.Channels;
using AiStreaming.Channels.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace AiStreaming.Api.Conversations;

/// <summary>
/// The conversations HTTP API under <c>/api/conversations</c>, exactly as docs/protocol.md specifies. JSON is
/// camelCase; errors are ProblemDetails (validation errors: ValidationProblem). Every endpoint requires a user token
/// (401 without one) and acts only on the caller's conversations: another user's ids answer 404, exactly like
/// unknown ones. State-changing calls are rate limited per user (429, <see cref="AuthExtensions.PostsPolicy"/>).
/// </summary>
public static class ConversationsApi
{
    /// <summary>Longest conversation title accepted, in characters.</summary>
    public const int MaxTitleLength = 200;

    /// <summary>Registers the <see cref="ConversationStore"/>.</summary>
    /// <param name="builder">The application builder.</param>
    /// <returns>The same builder.</returns>
    public static IHostApplicationBuilder AddConversations(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ConversationStore>();
        return builder;
    }

    /// <summary>
    /// Maps <c>POST/GET /api/conversations</c>, <c>GET /api/conversations/{id}</c>,
    /// <c>POST /api/conversations/{id}/messages</c>, <c>GET /api/conversations/{id}/messages/{messageId}</c> and
    /// <c>POST /api/conversations/{id}/messages/{messageId}/cancel</c> and <c>GET /api/conversations/{id}/token</c>.
    /// </summary>
    /// <param name="app">The endpoint route builder.</param>
    /// <returns>The route group.</returns>
    public static RouteGroupBuilder MapConversationsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/conversations").WithTags("Conversations").RequireAuthorization();
        group.MapPost("/", CreateConversation).RequireRateLimiting(AuthExtensions.PostsPolicy)
            .WithName(nameof(CreateConversation)).WithSummary("Creates a conversation of the caller.");
        group.MapGet("/", ListConversations)
            .WithName(nameof(ListConversations)).WithSummary("Lists the caller's conversations, newest first.");
        group.MapGet("/{id:guid}", GetConversation)
            .WithName(nameof(GetConversation)).WithSummary("Reads a conversation with its channel and messages.");
        group.MapGet("/{id:guid}/token", GetSubscriptionToken)
            .WithName(nameof(GetSubscriptionToken)).WithSummary("Issues a subscription token for the conversation's channel.");
        group.MapPost("/{id:guid}/messages", PostMessage).RequireRateLimiting(AuthExtensions.PostsPolicy)
            .WithName(nameof(PostMessage))
            .WithSummary("Posts a user message and starts the assistant's reply in the background (202 with ids, channel and start position).");
        group.MapGet("/{id:guid}/messages/{messageId:guid}", GetMessage)
            .WithName(nameof(GetMessage)).WithSummary("Reads one message.");
        group.MapPost("/{id:guid}/messages/{messageId:guid}/cancel", CancelMessage).RequireRateLimiting(AuthExtensions.PostsPolicy)
            .WithName(nameof(CancelMessage)).WithSummary("Cancels a streaming reply, on whichever Api instance runs it.");
        return group;
    }

    /// <summary><c>POST /api/conversations</c> <c>{ title? }</c>: 201 with the conversation; 400 when the title is too long.</summary>
    /// <param name="request">Optional body.</param>
    /// <param name="user">The caller.</param>
    /// <param name="store">Store.</param>
    /// <param name="cancellationToken">Request aborted.</param>
    public static async Task<Results<Created<Conversation>, ValidationProblem>> CreateConversation(
        CreateConversationRequest? request, ClaimsPrincipal user, ConversationStore store, CancellationToken cancellationToken)
    {
        var title = string.IsNullOrWhiteSpace(request?.Title) ? null : request.Title.Trim();
        if (title?.Length > MaxTitleLength)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["title"] = [$"The title must be at most {MaxTitleLength} characters."],
            });
        }
        var created = await store.CreateAsync(user.RequireUserId(), title, cancellationToken);
        var conversation = new Conversation(
            created.Id, created.Title, created.CreatedAt, created.UpdatedAt, ChannelName.ForConversation(created.Id).Value, []);
        return TypedResults.Created($"/api/conversations/{created.Id}", conversation);
    }

    /// <summary><c>GET /api/conversations</c>: 200 with the caller's conversation summaries, newest first.</summary>
    /// <param name="user">The caller.</param>
    /// <param name="store">Store.</param>
    /// <param name="cancellationToken">Request aborted.</param>
    public static async Task<Ok<IReadOnlyList<ConversationSummary>>> ListConversations(
        ClaimsPrincipal user, ConversationStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.ListAsync(user.RequireUserId(), cancellationToken));

    /// <summary><c>GET /api/conversations/{id}</c>: 200 with the conversation, its channel and messages; 404.</summary>
    /// <param name="id">Conversation id.</param>
    /// <param name="user">The caller.</param>
    /// <param name="store">Store.</param>
    /// <param name="cancellationToken">Request aborted.</param>
    public static async Task<Results<Ok<Conversation>, NotFound>> GetConversation(
        Guid id, ClaimsPrincipal user, ConversationStore store, CancellationToken cancellationToken) =>
        await store.GetAsync(user.RequireUserId(), id, cancellationToken) is { } conversation ? TypedResults.Ok(conversation) : TypedResults.NotFound();

    /// <summary>
    /// <c>GET /api/conversations/{id}/token</c>: 200 with a subscription token for the conversation's channel
    /// (<see cref="SubscriptionTokenAnswer"/>), for its owner only; 404 otherwise.
    /// </summary>
    /// <param name="id">Conversation id.</param>
    /// <param name="user">The caller.</param>
    /// <param name="store">Store.</param>
    /// <param name="tokens">Token issuer.</param>
    /// <param name="cancellationToken">Request aborted.</param>
    public static async Task<Results<Ok<SubscriptionTokenAnswer>, NotFound>> GetSubscriptionToken(
        Guid id, ClaimsPrincipal user, ConversationStore store, SubscriptionTokens tokens, CancellationToken cancellationToken)
    {
        var userId = user.RequireUserId();
        if (!await store.IsOwnerAsync(userId, id, cancellationToken))
        {
            return TypedResults.NotFound();
        }
        var channel = ChannelName.ForConversation(id);
        var token = tokens.Issue(userId, UserTokens.DisplayName(user), channel);
        return TypedResults.Ok(new SubscriptionTokenAnswer(channel.Value, token.Token, token.ExpiresAt));
    }

    /// <summary>
    /// <c>POST /api/conversations/{id}/messages</c> <c>{ content }</c>: stores the user message and a streaming
    /// assistant message, publishes <c>message.started</c>, starts the generation in the background and answers 202
    /// with the ids, channel and start position. 400 for a missing, blank or too long content or a malformed
    /// <c>Idempotency-Key</c>; 404 for an unknown conversation; 409 while a reply of the conversation is still
    /// streaming; 422 for a reused <c>Idempotency-Key</c> with another body; 503 while this instance shuts down.
    /// </summary>
    /// <param name="id">Conversation id.</param>
    /// <param name="request">Body.</param>
    /// <param name="idempotencyKey">
    /// Optional <c>Idempotency-Key</c> header (1–255 visible ASCII characters, else 400): a retry with the same key by the
    /// same user within <see cref="GenerationOptions.IdempotencyWindow"/> gets the first answer (202, same ids, channel
    /// and start position) and starts nothing; the same key with another conversation or content is a 422 problem.
    /// </param>
    /// <param name="user">The caller.</param>
    /// <param name="store">Store.</param>
    /// <param name="runner">Generation runner.</param>
    /// <param name="registry">Generations of this process (503 once it stops accepting).</param>
    /// <param name="instance">This instance (owner of the new generation).</param>
    /// <param name="options">Generation options (prompt limit, lease).</param>
    /// <param name="limits">Per-user limits (429 when the user has too many replies streaming).</param>
    /// <param name="cancellationToken">Request aborted (honoured only until the messages are stored).</param>
    public static async Task<Results<Accepted<MessageAccepted>, ValidationProblem, NotFound, ProblemHttpResult>> PostMessage(
        Guid id, PostMessageRequest request, [FromHeader(Name = IdempotencyKeys.HeaderName)] string? idempotencyKey, ClaimsPrincipal user, ConversationStore store, GenerationRunner runner, GenerationRegistry registry, ApiInstance instance,
        IOptions<GenerationOptions> options, IOptions<ApiLimitsOptions> limits, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        // PostgreSQL text cannot hold NUL characters: drop them before validating, so "\0\0" counts as blank.
        var content = request.Content?.Replace("\0", "", StringComparison.Ordinal);
        if (string.IsNullOrWhiteSpace(content))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["content"] = ["The content is required."] });
        }
        if (content.Length > settings.MaxPromptChars)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["content"] = [$"The content must be at most {settings.MaxPromptChars} characters."],
            });
        }
        IdempotencyKey? key = null;
        if (idempotencyKey is not null)
        {
            if (!IdempotencyKeys.IsWellFormed(idempotencyKey))
            {
                return TypedResults.Problem(
                    title: "Invalid Idempotency-Key",
                    detail: $"The Idempotency-Key header must be 1 to {IdempotencyKeys.MaxLength} visible ASCII characters.",
                    statusCode: StatusCodes.Status400BadRequest);
            }
            key = IdempotencyKeys.For(idempotencyKey, id, content, settings.IdempotencyWindow);
        }
        if (!registry.IsAccepting)
        {
            return TypedResults.Problem(
                title: "Shutting down", detail: "This Api instance is shutting down; retry.", statusCode: StatusCodes.Status503ServiceUnavailable);
        }

        var result = await store.StartExchangeAsync(
            user.RequireUserId(), id, content, instance.Id, settings.LeaseDuration, settings.MaxHistoryMessages,
            limits.Value.MaxConcurrentGenerations, key, cancellationToken);
        if (result.Status == StartExchangeStatus.KeyInUse)
        {
            // A concurrent post of the same key committed first: answer as it did.
            var first = await store.FindReplayAsync(user.RequireUserId(), key!, cancellationToken);
            result = new StartExchangeResult(StartExchangeStatus.Replayed, Replay: first);
        }
        switch (result.Status)
        {
            case StartExchangeStatus.Replayed when result.Replay is { SameRequest: true } replay:
                return TypedResults.Accepted($"/api/conversations/{replay.Accepted.ConversationId}/messages/{replay.Accepted.MessageId}", replay.Accepted);
            case StartExchangeStatus.Replayed when result.Replay is not null:
                return TypedResults.Problem(
                    title: "Idempotency-Key reused",
                    detail: "This Idempotency-Key was already used with another conversation or content; use a new key for a new message.",
                    statusCode: StatusCodes.Status422UnprocessableEntity);
            case StartExchangeStatus.Replayed:
                return TypedResults.Problem(
                    title: "Idempotency-Key in use", detail: "A post with this Idempotency-Key is being stored; retry.",
                    statusCode: StatusCodes.Status409Conflict);
            case StartExchangeStatus.ConversationNotFound:
                return TypedResults.NotFound();
            case StartExchangeStatus.TooManyGenerations:
                return TypedResults.Problem(
                    title: "Too many replies streaming",
                    detail: $"At most {limits.Value.MaxConcurrentGenerations} replies may stream at once; wait for one to end or cancel it.",
                    statusCode: StatusCodes.Status429TooManyRequests);
            case StartExchangeStatus.ReplyStreaming:
                return TypedResults.Problem(
                    title: "A reply is still streaming",
                    detail: "Wait for the assistant's reply to end, or cancel it, before sending another message.",
                    statusCode: StatusCodes.Status409Conflict,
                    extensions: new Dictionary<string, object?> { ["messageId"] = result.StreamingMessageId });
        }

        var generation = result.Request!;
        // Not tied to the request: once stored, the reply is generated even if the client goes away.
        var position = await runner.BeginAsync(generation);
        return TypedResults.Accepted(
            $"/api/conversations/{id}/messages/{generation.MessageId}",
            new MessageAccepted(
                id, generation.UserMessageId, generation.MessageId, ChannelName.ForConversation(id).Value,
                position?.Epoch, position?.Offset));
    }

    /// <summary><c>GET /api/conversations/{id}/messages/{messageId}</c>: 200 with the message; 404.</summary>
    /// <param name="id">Conversation id.</param>
    /// <param name="messageId">Message id.</param>
    /// <param name="user">The caller.</param>
    /// <param name="store">Store.</param>
    /// <param name="cancellationToken">Request aborted.</param>
    public static async Task<Results<Ok<Message>, NotFound>> GetMessage(
        Guid id, Guid messageId, ClaimsPrincipal user, ConversationStore store, CancellationToken cancellationToken) =>
        await store.GetMessageAsync(user.RequireUserId(), id, messageId, cancellationToken) is { } message ? TypedResults.Ok(message) : TypedResults.NotFound();

    /// <summary>
    /// <c>POST /api/conversations/{id}/messages/{messageId}/cancel</c>: 202 once the cancel is delivered to the
    /// generation (here, or through Redis to the instance that owns it); the message then ends <c>cancelled</c> with
    /// its partial text (<c>message.cancelled</c>). 404 for an unknown message; 409 when it is not streaming; 503 when
    /// the owner runs elsewhere and Redis is unavailable.
    /// </summary>
    /// <param name="id">Conversation id.</param>
    /// <param name="messageId">Assistant message id.</param>
    /// <param name="user">The caller.</param>
    /// <param name="store">Store.</param>
    /// <param name="cancels">Cancel relay.</param>
    /// <param name="cancellationToken">Request aborted.</param>
    public static async Task<Results<Accepted, NotFound, ProblemHttpResult>> CancelMessage(
        Guid id, Guid messageId, ClaimsPrincipal user, ConversationStore store, CancelRelay cancels, CancellationToken cancellationToken)
    {
        var message = await store.GetMessageAsync(user.RequireUserId(), id, messageId, cancellationToken);
        if (message is null)
        {
            return TypedResults.NotFound();
        }
        if (message.Status != MessageStatus.Streaming)
        {
            return TypedResults.Problem(
                title: "Message is not streaming",
                detail: $"The message is {message.Status}; only a streaming reply can be cancelled.",
                statusCode: StatusCodes.Status409Conflict,
                extensions: new Dictionary<string, object?> { ["messageStatus"] = message.Status });
        }
        try
        {
            await cancels.RequestCancelAsync(messageId);
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            return TypedResults.Problem(
                title: "Cancel unavailable",
                detail: "The generation runs on another Api instance and Redis is unavailable to reach it; retry.",
                statusCode: StatusCodes.Status503ServiceUnavailable);
        }
        return TypedResults.Accepted($"/api/conversations/{id}/messages/{messageId}");
    }
}
