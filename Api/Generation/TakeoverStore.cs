using Npgsql;

namespace AiStreaming.Api.Generation;

/// <summary>A streaming message whose lease had expired, now claimed by this process for a new run.</summary>
/// <param name="MessageId">The assistant message.</param>
/// <param name="ConversationId">Its conversation.</param>
/// <param name="Checkpoint">Its last checkpointed text (<c>messages.content</c>).</param>
/// <param name="Run">The new run: its owner id (now <c>messages.owner_id</c>) and number (now <c>messages.takeovers</c>).</param>
/// <param name="Epoch">Epoch of its <c>message.started</c>, or <see langword="null"/> when that was never published.</param>
/// <param name="StartOffset">Offset of its <c>message.started</c>, or <see langword="null"/>.</param>
public sealed record ClaimedGeneration(Guid MessageId, Guid ConversationId, string Checkpoint, GenerationRun Run, string? Epoch, long? StartOffset);

/// <summary>
/// PostgreSQL statements of a takeover: claiming streaming messages whose lease expired (fenced: the claim writes a new
/// owner id, so every fenced write of the earlier run matches nothing from then on) and loading what the model needs
/// to continue one.
/// </summary>
/// <param name="dataSource">The Api's data source.</param>
public sealed class TakeoverStore(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// Claims up to <paramref name="limit"/> streaming messages whose lease expired: each gets the next takeover number,
    /// the owner id <c>{instance}#{number}</c> and a lease of <paramref name="lease"/> from now. Rows another process is
    /// claiming at the same moment are skipped (<c>FOR UPDATE SKIP LOCKED</c>), so each expiry is claimed once.
    /// </summary>
    /// <param name="instance">This process.</param>
    /// <param name="lease">The new run's lease.</param>
    /// <param name="limit">Most messages per call.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The claimed messages, oldest expiry first.</returns>
    /// <exception cref="NpgsqlException">PostgreSQL failed; nothing was claimed.</exception>
    public async Task<List<ClaimedGeneration>> ClaimExpiredAsync(ApiInstance instance, TimeSpan lease, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            UPDATE messages m
            SET takeovers = m.takeovers + 1, owner_id = @instance || '#' || (m.takeovers + 1), lease_expires_at = now() + @lease
            WHERE m.id IN (
                SELECT id FROM messages
                WHERE status = 'streaming' AND lease_expires_at < now()
                ORDER BY lease_expires_at
                LIMIT @limit
                FOR UPDATE SKIP LOCKED)
            RETURNING m.id, m.conversation_id, m.content, m.takeovers, m.owner_id, m.epoch, m.start_offset
            """);
        command.Parameters.AddWithValue("instance", instance.Id);
        command.Parameters.AddWithValue("lease", lease);
        command.Parameters.AddWithValue("limit", limit);
        var claimed = new List<ClaimedGeneration>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var messageId = reader.GetGuid(0);
            claimed.Add(new ClaimedGeneration(
                messageId, reader.GetGuid(1), reader.GetString(2), new GenerationRun(reader.GetString(4), messageId, reader.GetInt32(3)),
                reader.IsDBNull(5) ? null : reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetInt64(6)));
        }
        return claimed;
    }

    /// <summary>
    /// The exchange of a claimed message as its first run had it: the user message it answers (the conversation's
    /// last user message before it) and the completed messages before that (newest <paramref name="maxHistory"/>).
    /// </summary>
    /// <param name="claimed">The claimed message.</param>
    /// <param name="maxHistory">Most earlier messages.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The request, or <see langword="null"/> when no user message precedes the reply.</returns>
    /// <exception cref="NpgsqlException">PostgreSQL failed.</exception>
    public async Task<GenerationRequest?> LoadRequestAsync(ClaimedGeneration claimed, int maxHistory, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        Guid userMessageId;
        string userContent;
        DateTime userCreatedAt;
        await using (var user = new NpgsqlCommand(
            """
            SELECT id, content, created_at FROM messages
            WHERE conversation_id = @conversation AND role = 'user'
              AND created_at < (SELECT created_at FROM messages WHERE id = @id)
            ORDER BY created_at DESC, id DESC
            LIMIT 1
            """, connection))
        {
            user.Parameters.AddWithValue("conversation", claimed.ConversationId);
            user.Parameters.AddWithValue("id", claimed.MessageId);
            await using var reader = await user.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }
            (userMessageId, userContent, userCreatedAt) = (reader.GetGuid(0), reader.GetString(1), reader.GetDateTime(2));
        }

        var history = new List<ChatTurn>();
        await using (var select = new NpgsqlCommand(
            """
            SELECT role, content FROM (
                SELECT role, content, created_at, id FROM messages
                WHERE conversation_id = @conversation AND status = 'completed' AND created_at < @before
                ORDER BY created_at DESC, id DESC
                LIMIT @max) recent
            ORDER BY created_at, id
            """, connection))
        {
            select.Parameters.AddWithValue("conversation", claimed.ConversationId);
            select.Parameters.AddWithValue("before", userCreatedAt);
            select.Parameters.AddWithValue("max", maxHistory);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                history.Add(new ChatTurn(reader.GetString(0), reader.GetString(1)));
            }
        }
        return new GenerationRequest(claimed.ConversationId, userMessageId, claimed.MessageId, userContent, history);
    }
}
