using System.Diagnostics;
using System.Text.Json;
using AiStreaming.Api.Redis;
using AiStreaming.Channels;
using Npgsql;
using NpgsqlTypes;
using StackExchange.Redis;

namespace AiStreaming.Api.Outbox;

/// <summary>An event waiting in the outbox.</summary>
/// <param name="Channel">Target channel.</param>
/// <param name="Type">Event type (<see cref="ChannelEventTypes"/>).</param>
/// <param name="MessageId">Message the event belongs to.</param>
/// <param name="Data">Payload object (docs/protocol.md).</param>
public sealed record OutboxEntry(ChannelName Channel, string Type, Guid? MessageId, JsonElement Data);

/// <summary>
/// The transactional outbox: events are inserted in the same PostgreSQL transaction as the state change they
/// announce, then published to Redis with <see cref="ChannelPublisher"/> (at once after commit by the writer, and by
/// <see cref="OutboxRelay"/> for whatever is left, e.g. during a Redis outage).
/// </summary>
/// <remarks>
/// Delivery is at least once: rows are locked (<c>FOR UPDATE SKIP LOCKED</c>) while published and marked
/// <c>published_at</c> in the same transaction, so two publishers never take the same row; a crash or a failed commit
/// between the Redis publish and the commit publishes that row again. Rows are published in id order, and the relay
/// runs on one replica at a time (<c>pg_try_advisory_xact_lock</c>), so events of a channel keep their order.
/// </remarks>
/// <param name="dataSource">The Api's data source.</param>
/// <param name="publisher">Channel publisher.</param>
/// <param name="redis">Redis connection (publishing is skipped while it is disconnected).</param>
/// <param name="logger">Logger.</param>
public sealed class OutboxPublisher(
    NpgsqlDataSource dataSource, ChannelPublisher publisher, IConnectionMultiplexer redis, ILogger<OutboxPublisher> logger)
{
    // Arbitrary application-wide key of the relay's advisory lock ("AISRELAY" in ASCII).
    private const long RelayLockKey = 0x41_49_53_52_45_4C_41_59;

    /// <summary>Inserts an event into the outbox inside the caller's transaction.</summary>
    /// <param name="connection">Open connection.</param>
    /// <param name="transaction">The transaction that also changes the state the event announces.</param>
    /// <param name="entry">The event.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The outbox row id.</returns>
    /// <exception cref="NpgsqlException">The insert failed.</exception>
    public static async Task<long> InsertAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, OutboxEntry entry, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO outbox (channel, type, message_id, data, traceparent)
            VALUES (@channel, @type, @messageId, @data, @traceparent)
            RETURNING id
            """, connection, transaction);
        command.Parameters.AddWithValue("channel", entry.Channel.Value);
        command.Parameters.AddWithValue("type", entry.Type);
        command.Parameters.AddWithValue("messageId", NpgsqlDbType.Uuid, (object?)entry.MessageId ?? DBNull.Value);
        command.Parameters.AddWithValue("data", NpgsqlDbType.Jsonb, entry.Data.GetRawText());
        command.Parameters.AddWithValue("traceparent", NpgsqlDbType.Text, (object?)Activity.Current?.Id ?? DBNull.Value);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Publishes the given rows now (the writer's fast path after commit), in id order, skipping rows already
    /// published or being published by the relay. Stops at the first Redis failure; the relay retries the rest.
    /// </summary>
    /// <param name="ids">Outbox row ids.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>How many rows this call published.</returns>
    /// <exception cref="NpgsqlException">PostgreSQL failed (the rows stay for the relay).</exception>
    public async Task<int> PublishAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return 0;
        }
        var result = await PublishPendingAsync(ids.ToArray(), ids.Count, relay: false, cancellationToken);
        if (result.Error is { } error)
        {
            logger.OutboxPublishDeferred(ids.Count - result.Published, error.Message);
        }
        return result.Published;
    }

    /// <summary>
    /// Publishes up to <paramref name="batchSize"/> unpublished rows, oldest first, unless another replica's relay
    /// is running.
    /// </summary>
    /// <param name="batchSize">Maximum rows.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Rows published and the Redis error that stopped the batch, if any.</returns>
    /// <exception cref="NpgsqlException">PostgreSQL failed.</exception>
    public Task<OutboxBatchResult> RelayAsync(int batchSize, CancellationToken cancellationToken) =>
        PublishPendingAsync(null, batchSize, relay: true, cancellationToken);

    /// <summary>Deletes rows published longer than <paramref name="retain"/> ago.</summary>
    /// <param name="retain">Retention of published rows.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>Rows deleted.</returns>
    /// <exception cref="NpgsqlException">PostgreSQL failed.</exception>
    public async Task<int> PurgeAsync(TimeSpan retain, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM outbox WHERE published_at < now() - @retain");
        command.Parameters.AddWithValue("retain", retain);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<OutboxBatchResult> PublishPendingAsync(long[]? ids, int limit, bool relay, CancellationToken cancellationToken)
    {
        if (!redis.IsConnected)
        {
            // Don't hold row locks while commands wait in the client's backlog: the relay retries after reconnection.
            return new OutboxBatchResult(0, new RedisConnectionException(ConnectionFailureType.UnableToConnect, "Redis is not connected."));
        }
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        if (relay)
        {
            await using var lockCommand = new NpgsqlCommand("SELECT pg_try_advisory_xact_lock(@key)", connection, transaction);
            lockCommand.Parameters.AddWithValue("key", RelayLockKey);
            if (!(bool)(await lockCommand.ExecuteScalarAsync(cancellationToken))!)
            {
                return new OutboxBatchResult(0, null);
            }
        }

        var rows = new List<(long Id, string Channel, string Type, Guid? MessageId, string Data, string? Traceparent)>();
        await using (var select = new NpgsqlCommand(
            $"""
            SELECT id, channel, type, message_id, data::text, traceparent
            FROM outbox
            WHERE published_at IS NULL {(ids is null ? "" : "AND id = ANY(@ids)")}
            ORDER BY id
            LIMIT @limit
            FOR UPDATE SKIP LOCKED
            """, connection, transaction))
        {
            if (ids is not null)
            {
                select.Parameters.AddWithValue("ids", ids);
            }
            select.Parameters.AddWithValue("limit", limit);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((
                    reader.GetInt64(0), reader.GetString(1), reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetGuid(3), reader.GetString(4),
                    reader.IsDBNull(5) ? null : reader.GetString(5)));
            }
        }
        if (rows.Count == 0)
        {
            return new OutboxBatchResult(0, null);
        }

        var published = new List<long>(rows.Count);
        Exception? error = null;
        foreach (var row in rows)
        {
            using var activity = StartPublishActivity(row.Traceparent, row.Type);
            try
            {
                using var data = JsonDocument.Parse(row.Data);
                await publisher.PublishAsync(ChannelName.Parse(row.Channel), row.Type, row.MessageId, data.RootElement.Clone());
                published.Add(row.Id);
            }
            catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
            {
                activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
                error = ex;
                break; // keep order: nothing after a failed row goes out before it
            }
            catch (Exception ex) when (ex is JsonException or FormatException)
            {
                // A row that can never be published must not block the ones behind it.
                logger.OutboxPoisonRow(row.Id, ex.Message);
                published.Add(row.Id);
            }
        }

        if (published.Count > 0)
        {
            await using var update = new NpgsqlCommand("UPDATE outbox SET published_at = now() WHERE id = ANY(@ids)", connection, transaction);
            update.Parameters.AddWithValue("ids", published.ToArray());
            await update.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return new OutboxBatchResult(published.Count, error);
    }

    // The published event carries the trace of the operation that wrote the row (Activity.Current is read by
    // ChannelPublisher), even when nobody listens to our ActivitySource.
    private static Activity? StartPublishActivity(string? traceparent, string type)
    {
        ActivityContext.TryParse(traceparent, null, out var parent);
        var activity = ApiTelemetry.ActivitySource.StartActivity("outbox.publish", ActivityKind.Producer, parent)
            ?? (traceparent is null ? null : new Activity("outbox.publish").SetParentId(traceparent).Start());
        activity?.SetTag("aistreaming.event.type", type);
        return activity;
    }
}

/// <summary>The outcome of publishing a batch of outbox rows.</summary>
/// <param name="Published">Rows published and marked.</param>
/// <param name="Error">The Redis error that stopped the batch early, or <see langword="null"/>.</param>
public sealed record OutboxBatchResult(int Published, Exception? Error);
