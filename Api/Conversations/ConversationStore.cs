// About 250 lines of logic, most of it SQL text: every statement on conversations and messages in one place, so a
// reader sees each query beside its siblings (the Idempotency-Key statements live in IdempotencyKeys.cs).

using System.Data.Common;
using System.Text;
using AiStreaming.Api.Generation;
using AiStreaming.Channels;
using Npgsql;

namespace AiStreaming.Api.Conversations;

/// <summary>Outcome of <see cref="ConversationStore.StartExchangeAsync"/>.</summary>
public enum StartExchangeStatus
{
    /// <summary>The user and assistant messages were stored; the generation can start.</summary>
    Started,

    /// <summary>No such conversation.</summary>
    ConversationNotFound,

    /// <summary>An assistant message of the conversation is still streaming.</summary>
    ReplyStreaming,

    /// <summary>The user already has the most replies streaming at once (<c>Limits:MaxConcurrentGenerations</c>).</summary>
    TooManyGenerations,

    /// <summary>The <c>Idempotency-Key</c> was used before within its window: nothing stored, the first answer is in <see cref="StartExchangeResult.Replay"/>.</summary>
    Replayed,

    /// <summary>A concurrent post recorded the same <c>Idempotency-Key</c> first: nothing stored; read its answer with <see cref="ConversationStore.FindReplayAsync"/>.</summary>
    KeyInUse,
}

/// <summary>Result of <see cref="ConversationStore.StartExchangeAsync"/>.</summary>
/// <param name="Status">Outcome.</param>
/// <param name="Request">The generation to run, when <see cref="StartExchangeStatus.Started"/>.</param>
/// <param name="StreamingMessageId">The reply still streaming, when known and <see cref="StartExchangeStatus.ReplyStreaming"/>.</param>
/// <param name="Replay">The key's first answer, when <see cref="StartExchangeStatus.Replayed"/>.</param>
public sealed record StartExchangeResult(
    StartExchangeStatus Status, GenerationRequest? Request = null, Guid? StreamingMessageId = null, IdempotentReplay? Replay = null);

/// <summary>
/// Conversations and messages in PostgreSQL (plain SQL over <see cref="NpgsqlDataSource"/>). Every read and write is
/// scoped to the conversation's owner (<c>conversations.user_id</c>): another user's id reads as "not found".
/// </summary>
/// <param name="dataSource">The Api's data source.</param>
public sealed class ConversationStore(NpgsqlDataSource dataSource)
{
    /// <summary>Most conversations <see cref="ListAsync"/> returns.</summary>
    public const int ListLimit = 200;

    /// <summary>Length of a title derived from the first user message, in characters (an ellipsis is added when cut).</summary>
    public const int DerivedTitleLength = 60;

    private const string MessageColumns =
        "id, conversation_id, role, content, status, error_code, error_message, epoch, start_offset, created_at, completed_at";

    /// <summary>Creates a conversation owned by <paramref name="userId"/>.</summary>
    /// <param name="userId">Owner.</param>
    /// <param name="title">Title, or <see langword="null"/> to take it from the first user message.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The new conversation.</returns>
    /// <exception cref="NpgsqlException">PostgreSQL failed.</exception>
    public async Task<ConversationSummary> CreateAsync(string userId, string? title, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "INSERT INTO conversations (id, user_id, title) VALUES (@id, @user, @title) RETURNING created_at, updated_at");
        command.Parameters.AddWithValue("user", userId);
        var id = Guid.CreateVersion7();
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("title", NpgsqlTypes.NpgsqlDbType.Text, (object?)title ?? DBNull.Value);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new ConversationSummary(id, title, reader.GetFieldValue<DateTimeOffset>(0), reader.GetFieldValue<DateTimeOffset>(1));
    }

    /// <summary>Lists the user's conversations, newest first (by creation), at most <see cref="ListLimit"/>.</summary>
    /// <param name="userId">Owner.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The conversations.</returns>
    /// <exception cref="NpgsqlException">PostgreSQL failed.</exception>
    public async Task<IReadOnlyList<ConversationSummary>> ListAsync(string userId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT id, title, created_at, updated_at FROM conversations WHERE user_id = @user ORDER BY created_at DESC, id DESC LIMIT @limit");
        command.Parameters.AddWithValue("user", userId);
        command.Parameters.AddWithValue("limit", ListLimit);
        var list = new List<ConversationSummary>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(ReadSummary(reader));
        }
        return list;
    }

    /// <summary>Reads a conversation of <paramref name="userId"/> with its messages (oldest first).</summary>
    /// <param name="userId">Owner.</param>
    /// <param name="id">Conversation id.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The conversation, or <see langword="null"/> if there is none.</returns>
    /// <exception cref="NpgsqlException">PostgreSQL failed.</exception>
    public async Task<Conversation?> GetAsync(string userId, Guid id, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        ConversationSummary summary;
        await using (var command = new NpgsqlCommand("SELECT id, title, created_at, updated_at FROM conversations WHERE id = @id AND user_id = @user", connection, transaction))
        {
            command.Parameters.AddWithValue("id", id);
            command.Parameters.AddWithValue("user", userId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }
            summary = ReadSummary(reader);
        }

        var messages = new List<Message>();
        await using (var command = new NpgsqlCommand(
            $"SELECT {MessageColumns} FROM messages WHERE conversation_id = @id ORDER BY created_at, id", connection, transaction))
        {
            command.Parameters.AddWithValue("id", id);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                messages.Add(ReadMessage(reader));
            }
        }
        await transaction.CommitAsync(cancellationToken);
        return new Conversation(
            summary.Id, summary.Title, summary.CreatedAt, summary.UpdatedAt, ChannelName.ForConversation(id).Value, messages);
    }

    /// <summary>Reads one message of a conversation of <paramref name="userId"/>.</summary>
    /// <param name="userId">Owner of the conversation.</param>
    /// <param name="conversationId">Conversation id.</param>
    /// <param name="messageId">Message id.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The message, or <see langword="null"/> if the conversation has no such message.</returns>
    /// <exception cref="NpgsqlException">PostgreSQL failed.</exception>
    public async Task<Message?> GetMessageAsync(string userId, Guid conversationId, Guid messageId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT {MessageColumns} FROM messages
            WHERE id = @id AND conversation_id = @conversationId
              AND EXISTS (SELECT 1 FROM conversations c WHERE c.id = @conversationId AND c.user_id = @user)
            """);
        command.Parameters.AddWithValue("user", userId);
        command.Parameters.AddWithValue("id", messageId);
        command.Parameters.AddWithValue("conversationId", conversationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadMessage(reader) : null;
    }

    /// <summary>Whether <paramref name="userId"/> owns conversation <paramref name="id"/> (one indexed lookup).</summary>
    /// <param name="userId">User.</param>
    /// <param name="id">Conversation id.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <exception cref="NpgsqlException">PostgreSQL failed.</exception>
    public async Task<bool> IsOwnerAsync(string userId, Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT 1 FROM conversations WHERE id = @id AND user_id = @user");
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("user", userId);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>
    /// In one transaction: locks the conversation (naming it after <paramref name="content"/> if it has no title),
    /// checks that no reply is streaming, reads the history, and inserts the user message (<c>completed</c>) and the
    /// assistant message (<c>streaming</c>, owned by <paramref name="ownerId"/> until now + <paramref name="lease"/>).
    /// </summary>
    /// <param name="userId">Owner of the conversation (another user's conversation is not found).</param>
    /// <param name="conversationId">Conversation id.</param>
    /// <param name="content">The user's message (validated).</param>
    /// <param name="ownerId">The Api instance that will generate the reply.</param>
    /// <param name="lease">Initial ownership lease.</param>
    /// <param name="maxHistory">Most earlier completed messages to return as history (newest kept).</param>
    /// <param name="maxStreaming">Most replies of the user streaming at once (across conversations and instances).</param>
    /// <param name="idempotency">The post's <c>Idempotency-Key</c>, if it had one: checked after the conversation lock and
    /// recorded with the messages, so concurrent retries of one key start one generation.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The outcome and, when started, the generation request.</returns>
    /// <exception cref="NpgsqlException">PostgreSQL failed; nothing was stored.</exception>
    public async Task<StartExchangeResult> StartExchangeAsync(
        string userId, Guid conversationId, string content, string ownerId, TimeSpan lease, int maxHistory, int maxStreaming,
        IdempotencyKey? idempotency, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // The row lock serializes posts to one conversation, so the streaming check below cannot race.
        await using (var touch = new NpgsqlCommand(
            "UPDATE conversations SET updated_at = now(), title = COALESCE(title, @title) WHERE id = @id AND user_id = @user RETURNING id",
            connection, transaction))
        {
            touch.Parameters.AddWithValue("id", conversationId);
            touch.Parameters.AddWithValue("user", userId);
            touch.Parameters.AddWithValue("title", TitleFrom(content));
            if (await touch.ExecuteScalarAsync(cancellationToken) is null)
            {
                return new StartExchangeResult(StartExchangeStatus.ConversationNotFound);
            }
        }

        if (idempotency is not null && await IdempotencyKeys.FindAsync(connection, transaction, userId, idempotency, cancellationToken) is { } replay)
        {
            return new StartExchangeResult(StartExchangeStatus.Replayed, Replay: replay);
        }

        await using (var streaming = new NpgsqlCommand(
            "SELECT id FROM messages WHERE conversation_id = @id AND status = 'streaming' LIMIT 1", connection, transaction))
        {
            streaming.Parameters.AddWithValue("id", conversationId);
            if (await streaming.ExecuteScalarAsync(cancellationToken) is Guid streamingId)
            {
                return new StartExchangeResult(StartExchangeStatus.ReplyStreaming, StreamingMessageId: streamingId);
            }
        }

        // Indexed: the partial index on streaming messages and the user's conversations. Two concurrent posts to
        // different conversations may both pass; the limit is a guard against abuse, not an exact quota.
        await using (var running = new NpgsqlCommand(
            """
            SELECT count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
            WHERE m.status = 'streaming' AND c.user_id = @user
            """, connection, transaction))
        {
            running.Parameters.AddWithValue("user", userId);
            if ((long)(await running.ExecuteScalarAsync(cancellationToken))! >= maxStreaming)
            {
                return new StartExchangeResult(StartExchangeStatus.TooManyGenerations);
            }
        }

        var history = new List<ChatTurn>();
        await using (var select = new NpgsqlCommand(
            """
            SELECT role, content FROM (
                SELECT role, content, created_at, id FROM messages
                WHERE conversation_id = @id AND status = 'completed'
                ORDER BY created_at DESC, id DESC
                LIMIT @max) recent
            ORDER BY created_at, id
            """, connection, transaction))
        {
            select.Parameters.AddWithValue("id", conversationId);
            select.Parameters.AddWithValue("max", maxHistory);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                history.Add(new ChatTurn(reader.GetString(0), reader.GetString(1)));
            }
        }

        var userMessageId = Guid.CreateVersion7();
        var assistantMessageId = Guid.CreateVersion7();
        await using (var insert = new NpgsqlCommand(
            """
            WITH t AS (SELECT clock_timestamp() AS ts)
            INSERT INTO messages (id, conversation_id, role, content, status, owner_id, lease_expires_at, created_at, completed_at)
            SELECT @userId, @conversationId, 'user', @content, 'completed', NULL::text, NULL::timestamptz, ts, ts FROM t
            UNION ALL
            -- One microsecond later, so ordering by created_at puts the question before its answer.
            SELECT @assistantId, @conversationId, 'assistant', '', 'streaming', @owner, ts + @lease, ts + interval '1 microsecond', NULL::timestamptz FROM t
            """, connection, transaction))
        {
            insert.Parameters.AddWithValue("userId", userMessageId);
            insert.Parameters.AddWithValue("assistantId", assistantMessageId);
            insert.Parameters.AddWithValue("conversationId", conversationId);
            insert.Parameters.AddWithValue("content", content);
            insert.Parameters.AddWithValue("owner", ownerId);
            insert.Parameters.AddWithValue("lease", lease);
            try
            {
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                return new StartExchangeResult(StartExchangeStatus.ReplyStreaming);
            }
        }

        if (idempotency is not null)
        {
            try
            {
                await IdempotencyKeys.RecordAsync(
                    connection, transaction, userId, idempotency, conversationId, userMessageId, assistantMessageId, cancellationToken);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                return new StartExchangeResult(StartExchangeStatus.KeyInUse);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return new StartExchangeResult(
            StartExchangeStatus.Started,
            new GenerationRequest(conversationId, userMessageId, assistantMessageId, content, history));
    }

    /// <summary>Reads the first answer of an <c>Idempotency-Key</c> of <paramref name="userId"/> within its window.</summary>
    /// <param name="userId">The caller.</param>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The replay, or <see langword="null"/> when there is none.</returns>
    /// <exception cref="NpgsqlException">PostgreSQL failed.</exception>
    public async Task<IdempotentReplay?> FindReplayAsync(string userId, IdempotencyKey key, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        return await IdempotencyKeys.FindAsync(connection, transaction, userId, key, cancellationToken);
    }

    /// <summary>
    /// A title from a first message: whitespace collapsed, at most <see cref="DerivedTitleLength"/> characters, cut at
    /// a word boundary when possible, with an ellipsis when cut.
    /// </summary>
    /// <param name="content">The message.</param>
    public static string TitleFrom(string content)
    {
        var collapsed = new StringBuilder(Math.Min(content.Length, 256));
        foreach (var part in content.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            if (collapsed.Length > DerivedTitleLength)
            {
                break;
            }
            if (collapsed.Length > 0)
            {
                collapsed.Append(' ');
            }
            collapsed.Append(part);
        }
        var text = collapsed.ToString();
        if (text.Length <= DerivedTitleLength)
        {
            return text;
        }
        var cut = text.LastIndexOf(' ', DerivedTitleLength);
        return string.Concat(text.AsSpan(0, cut >= DerivedTitleLength / 2 ? cut : DerivedTitleLength).TrimEnd(), "…");
    }

    private static ConversationSummary ReadSummary(DbDataReader reader) => new(
        reader.GetGuid(0),
        reader.IsDBNull(1) ? null : reader.GetString(1),
        reader.GetFieldValue<DateTimeOffset>(2),
        reader.GetFieldValue<DateTimeOffset>(3));

    private static Message ReadMessage(DbDataReader reader) => new(
        Id: reader.GetGuid(0),
        ConversationId: reader.GetGuid(1),
        Role: reader.GetString(2),
        Content: reader.GetString(3),
        Status: reader.GetString(4),
        Error: reader.IsDBNull(5) ? null : new MessageError(reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetString(6)),
        Epoch: reader.IsDBNull(7) ? null : reader.GetString(7),
        StartOffset: reader.IsDBNull(8) ? null : reader.GetInt64(8),
        CreatedAt: reader.GetFieldValue<DateTimeOffset>(9),
        CompletedAt: reader.IsDBNull(10) ? null : reader.GetFieldValue<DateTimeOffset>(10));
}
