using AiStreaming.Api.Outbox;
using AiStreaming.Channels;
using Npgsql;
using NpgsqlTypes;

namespace AiStreaming.Api.Generation;

/// <summary>
/// PostgreSQL statements of the generation lifecycle: start position, checkpoints and lease renewal, and the fenced
/// terminal write with its outbox events (claims of expired leases: <see cref="TakeoverStore"/>). Every write to a
/// streaming message is fenced with <c>status = 'streaming' AND owner_id = @owner</c>, and every takeover writes a new
/// owner id (<see cref="GenerationRun.OwnerId"/>), so a run that was taken over can no longer change it.
/// </summary>
/// <param name="dataSource">The Api's data source.</param>
public sealed class GenerationStore(NpgsqlDataSource dataSource)
{
    /// <summary>Stores the position of the assistant message's <c>message.started</c> event.</summary>
    /// <param name="messageId">Assistant message.</param>
    /// <param name="position">Epoch and offset the event was published at.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <exception cref="NpgsqlException">PostgreSQL failed.</exception>
    public async Task SetStartPositionAsync(Guid messageId, ChannelPosition position, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("UPDATE messages SET epoch = @epoch, start_offset = @offset WHERE id = @id");
        command.Parameters.AddWithValue("id", messageId);
        command.Parameters.AddWithValue("epoch", position.Epoch);
        command.Parameters.AddWithValue("offset", position.Offset);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Writes the partial text and renews the lease, if <paramref name="ownerId"/> still owns the streaming message.</summary>
    /// <param name="messageId">Assistant message.</param>
    /// <param name="ownerId">This instance's id.</param>
    /// <param name="content">Text so far.</param>
    /// <param name="lease">New lease length from now.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns><see langword="false"/> when the message is no longer streaming or owned by <paramref name="ownerId"/>.</returns>
    /// <exception cref="NpgsqlException">PostgreSQL failed.</exception>
    public async Task<bool> CheckpointAsync(Guid messageId, string ownerId, string content, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            UPDATE messages SET content = @content, lease_expires_at = now() + @lease
            WHERE id = @id AND status = 'streaming' AND owner_id = @owner
            """);
        command.Parameters.AddWithValue("id", messageId);
        command.Parameters.AddWithValue("owner", ownerId);
        command.Parameters.AddWithValue("content", content);
        command.Parameters.AddWithValue("lease", lease);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Renews the leases of the given streaming messages owned by <paramref name="ownerId"/>.</summary>
    /// <param name="messageIds">Messages this instance is generating.</param>
    /// <param name="ownerId">This instance's id.</param>
    /// <param name="lease">New lease length from now.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The messages whose lease was renewed (the others were lost or have ended).</returns>
    /// <exception cref="NpgsqlException">PostgreSQL failed.</exception>
    public async Task<HashSet<Guid>> RenewLeasesAsync(Guid[] messageIds, string ownerId, TimeSpan lease, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            UPDATE messages SET lease_expires_at = now() + @lease
            WHERE id = ANY(@ids) AND status = 'streaming' AND owner_id = @owner
            RETURNING id
            """);
        command.Parameters.AddWithValue("ids", messageIds);
        command.Parameters.AddWithValue("owner", ownerId);
        command.Parameters.AddWithValue("lease", lease);
        var renewed = new HashSet<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            renewed.Add(reader.GetGuid(0));
        }
        return renewed;
    }

    /// <summary>
    /// Ends a streaming message in one transaction: writes its final text, status, error, token count and
    /// completion time and clears its ownership (only if <paramref name="ownerId"/> still owns it), and inserts
    /// <paramref name="events"/> (e.g. a last delta and the terminal event) into the outbox.
    /// </summary>
    /// <param name="messageId">Assistant message.</param>
    /// <param name="ownerId">This instance's id.</param>
    /// <param name="outcome">Terminal state.</param>
    /// <param name="content">Final (or partial) text.</param>
    /// <param name="outputTokens">Output tokens.</param>
    /// <param name="events">Events to publish, in order.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The outbox row ids, or <see langword="null"/> when the message was no longer ours (nothing written).</returns>
    /// <exception cref="NpgsqlException">PostgreSQL failed; nothing was written.</exception>
    public async Task<long[]?> FinishAsync(
        Guid messageId, string ownerId, MessageOutcome outcome, string content, int outputTokens,
        IReadOnlyList<OutboxEntry> events, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var update = new NpgsqlCommand(
            """
            WITH ended AS (
                UPDATE messages
                SET content = @content, status = @status, error_code = @code, error_message = @message,
                    output_tokens = @tokens, completed_at = now(), owner_id = NULL, lease_expires_at = NULL
                WHERE id = @id AND status = 'streaming' AND owner_id = @owner
                RETURNING conversation_id
            )
            UPDATE conversations SET updated_at = now() WHERE id IN (SELECT conversation_id FROM ended)
            RETURNING id
            """, connection, transaction))
        {
            update.Parameters.AddWithValue("id", messageId);
            update.Parameters.AddWithValue("owner", ownerId);
            update.Parameters.AddWithValue("content", content);
            update.Parameters.AddWithValue("status", outcome.Status);
            update.Parameters.AddWithValue("code", NpgsqlDbType.Text, (object?)outcome.Code ?? DBNull.Value);
            update.Parameters.AddWithValue("message", NpgsqlDbType.Text, (object?)outcome.Message ?? DBNull.Value);
            update.Parameters.AddWithValue("tokens", outputTokens);
            if (await update.ExecuteScalarAsync(cancellationToken) is null)
            {
                return null; // fenced out: the sweeper (or another owner) already ended it
            }
        }

        var ids = new long[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            ids[i] = await OutboxPublisher.InsertAsync(connection, transaction, events[i], cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return ids;
    }
}
