using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace AiStreaming.Api.Conversations;

/// <summary>An <c>Idempotency-Key</c> of a post, with the fingerprint of the request it came with.</summary>
/// <param name="Key">The header's value (1–255 visible ASCII characters).</param>
/// <param name="Fingerprint">SHA-256 of the conversation id and the content.</param>
/// <param name="Window">How long the key's first answer is kept (<c>Generation:IdempotencyWindow</c>).</param>
public sealed record IdempotencyKey(string Key, byte[] Fingerprint, TimeSpan Window);

/// <summary>The first answer recorded for an <see cref="IdempotencyKey"/>.</summary>
/// <param name="SameRequest">Whether it was recorded for the same request (else the retry is a 422).</param>
/// <param name="Accepted">The ids, channel and start position of the first answer (a 202).</param>
public sealed record IdempotentReplay(bool SameRequest, MessageAccepted Accepted);

/// <summary>
/// The <c>Idempotency-Key</c> rule of <c>POST /api/conversations/{id}/messages</c> and its table
/// <c>idempotency_keys</c> (PostgreSQL, not Redis: the key is written in the transaction that stores the exchange, so a
/// key never exists without its messages or the reverse, and it survives a Redis outage).
/// </summary>
public static class IdempotencyKeys
{
    /// <summary>The request header.</summary>
    public const string HeaderName = "Idempotency-Key";

    /// <summary>Longest key, in characters.</summary>
    public const int MaxLength = 255;

    /// <summary>Validates a header value: 1 to <see cref="MaxLength"/> visible ASCII characters (0x21–0x7E).</summary>
    /// <param name="value">The header's value.</param>
    /// <returns>Whether it is a well-formed key.</returns>
    public static bool IsWellFormed(string value) =>
        value.Length is > 0 and <= MaxLength && value.All(c => c is >= '!' and <= '~');

    /// <summary>Makes the key of a post.</summary>
    /// <param name="key">Well-formed header value.</param>
    /// <param name="conversationId">Conversation posted to.</param>
    /// <param name="content">The content as stored (NUL characters removed).</param>
    /// <param name="window">Replay window.</param>
    public static IdempotencyKey For(string key, Guid conversationId, string content, TimeSpan window) =>
        new(key, SHA256.HashData(Encoding.UTF8.GetBytes($"{conversationId:D}\n{content}")), window);

    /// <summary>Reads the first answer of <paramref name="key"/> for <paramref name="userId"/> within its window.</summary>
    /// <param name="connection">Open connection.</param>
    /// <param name="transaction">The exchange's transaction.</param>
    /// <param name="userId">The caller.</param>
    /// <param name="key">The key.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The replay, or <see langword="null"/> when the key is new (or its window passed).</returns>
    /// <exception cref="NpgsqlException">PostgreSQL failed.</exception>
    public static async Task<IdempotentReplay?> FindAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, IdempotencyKey key, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT k.fingerprint, k.conversation_id, k.user_message_id, k.message_id, m.epoch, m.start_offset
            FROM idempotency_keys k JOIN messages m ON m.id = k.message_id
            WHERE k.user_id = @user AND k.key = @key AND k.created_at > now() - @window
            """, connection, transaction);
        command.Parameters.AddWithValue("user", userId);
        command.Parameters.AddWithValue("key", key.Key);
        command.Parameters.AddWithValue("window", key.Window);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        var conversationId = reader.GetGuid(1);
        return new IdempotentReplay(
            reader.GetFieldValue<byte[]>(0).AsSpan().SequenceEqual(key.Fingerprint),
            new MessageAccepted(
                conversationId, reader.GetGuid(2), reader.GetGuid(3), Channels.ChannelName.ForConversation(conversationId).Value,
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetInt64(5)));
    }

    /// <summary>Records the first answer of <paramref name="key"/> (replacing an expired record of the same key).</summary>
    /// <param name="connection">Open connection.</param>
    /// <param name="transaction">The exchange's transaction.</param>
    /// <param name="userId">The caller.</param>
    /// <param name="key">The key.</param>
    /// <param name="conversationId">Conversation.</param>
    /// <param name="userMessageId">The stored user message.</param>
    /// <param name="messageId">The streaming assistant message.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <exception cref="PostgresException">With <see cref="PostgresErrorCodes.UniqueViolation"/>: a concurrent post recorded the key first.</exception>
    public static async Task RecordAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string userId, IdempotencyKey key,
        Guid conversationId, Guid userMessageId, Guid messageId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            DELETE FROM idempotency_keys WHERE user_id = @user AND key = @key AND created_at <= now() - @window;
            INSERT INTO idempotency_keys (user_id, key, fingerprint, conversation_id, user_message_id, message_id)
            VALUES (@user, @key, @fingerprint, @conversationId, @userMessageId, @messageId);
            """, connection, transaction);
        command.Parameters.AddWithValue("user", userId);
        command.Parameters.AddWithValue("key", key.Key);
        command.Parameters.AddWithValue("window", key.Window);
        command.Parameters.AddWithValue("fingerprint", key.Fingerprint);
        command.Parameters.AddWithValue("conversationId", conversationId);
        command.Parameters.AddWithValue("userMessageId", userMessageId);
        command.Parameters.AddWithValue("messageId", messageId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Deletes keys older than <paramref name="window"/>.</summary>
    /// <param name="dataSource">The Api's data source.</param>
    /// <param name="window">Replay window.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Rows deleted.</returns>
    /// <exception cref="NpgsqlException">PostgreSQL failed.</exception>
    public static async Task<int> PurgeAsync(NpgsqlDataSource dataSource, TimeSpan window, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM idempotency_keys WHERE created_at <= now() - @window");
        command.Parameters.AddWithValue("window", window);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
