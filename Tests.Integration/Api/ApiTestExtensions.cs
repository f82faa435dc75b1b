using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AiStreaming.Api.Conversations;
using AiStreaming.Api.Generation;
using AiStreaming.Channels;
using AiStreaming.Tests.Infrastructure;
using Npgsql;

namespace AiStreaming.Tests.Api;

/// <summary>Calls of the conversations API, and what the Api leaves in Redis and PostgreSQL, for the Api tests.</summary>
internal static class ApiTestExtensions
{
    /// <summary>How long a test waits for something the Api does in the background.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    /// <summary>Creates a conversation (asserting 201) and returns its id.</summary>
    public static async Task<Guid> CreateConversationAsync(this HttpClient http, string? title = null)
    {
        using var response = await http.PostAsJsonAsync("/api/conversations", new { title });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var conversation = await response.Content.ReadFromJsonAsync<Conversation>();
        return conversation!.Id;
    }

    /// <summary>Posts a user message.</summary>
    public static Task<HttpResponseMessage> PostMessageAsync(this HttpClient http, Guid conversationId, string? content) =>
        http.PostAsJsonAsync($"/api/conversations/{conversationId}/messages", new { content });

    /// <summary>Posts a user message, asserting 202, and returns the answer.</summary>
    public static async Task<MessageAccepted> PostAcceptedAsync(this HttpClient http, Guid conversationId, string content)
    {
        using var response = await http.PostMessageAsync(conversationId, content);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<MessageAccepted>())!;
    }

    /// <summary>Asks to cancel a message.</summary>
    public static Task<HttpResponseMessage> CancelAsync(this HttpClient http, Guid conversationId, Guid messageId) =>
        http.PostAsync($"/api/conversations/{conversationId}/messages/{messageId}/cancel", null);

    /// <summary>Reads a message, asserting 200.</summary>
    public static async Task<Message> GetMessageAsync(this HttpClient http, Guid conversationId, Guid messageId)
    {
        using var response = await http.GetAsync($"/api/conversations/{conversationId}/messages/{messageId}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<Message>())!;
    }

    /// <summary>Reads a conversation, asserting 200.</summary>
    public static async Task<Conversation> GetConversationAsync(this HttpClient http, Guid conversationId)
    {
        using var response = await http.GetAsync($"/api/conversations/{conversationId}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<Conversation>())!;
    }

    /// <summary>Waits until a message is no longer <c>streaming</c> and returns it.</summary>
    public static async Task<Message> WaitUntilEndedAsync(this HttpClient http, Guid conversationId, Guid messageId)
    {
        Message? message = null;
        await Eventually.UntilAsync(
            async () => (message = await http.GetMessageAsync(conversationId, messageId)).Status != MessageStatus.Streaming,
            Patience, $"message {messageId} to end");
        return message!;
    }

    /// <summary>Asserts a ProblemDetails answer with <paramref name="status"/> and returns its body.</summary>
    public static async Task<JsonElement> AssertProblemAsync(this HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        return problem;
    }

    /// <summary>The events of a conversation's channel history (<c>XRANGE ais:{conv:ID}:stream - +</c>), in offset order.</summary>
    public static async Task<IReadOnlyList<ChannelEvent>> ReadChannelAsync(this ServersFixture servers, Guid conversationId)
    {
        var entries = await servers.Redis.GetDatabase().StreamRangeAsync(ChannelName.ForConversation(conversationId).StreamKey);
        return [.. entries.Select(entry => ChannelEvent.Parse((string)entry["e"]!))];
    }

    /// <summary>Waits until the channel holds a terminal event of <paramref name="messageId"/>; returns that message's events.</summary>
    public static async Task<IReadOnlyList<ChannelEvent>> WaitForTerminalEventAsync(this ServersFixture servers, Guid conversationId, Guid messageId)
    {
        IReadOnlyList<ChannelEvent> events = [];
        await Eventually.UntilAsync(
            async () =>
            {
                events = [.. (await servers.ReadChannelAsync(conversationId)).Where(e => e.MessageId == messageId)];
                return events.Any(e => ChannelEventTypes.IsTerminal(e.Type));
            },
            Patience, $"a terminal event of message {messageId}");
        return events;
    }

    /// <summary>Waits until the channel holds at least <paramref name="count"/> deltas of <paramref name="messageId"/>.</summary>
    public static Task WaitForDeltasAsync(this ServersFixture servers, Guid conversationId, Guid messageId, int count) =>
        Eventually.UntilAsync(
            async () => (await servers.ReadChannelAsync(conversationId)).Count(e => e.MessageId == messageId && e.Type == ChannelEventTypes.Delta) >= count,
            Patience, $"{count} deltas of message {messageId}");

    /// <summary>Concatenates the delta texts among <paramref name="events"/>.</summary>
    public static string DeltaText(this IEnumerable<ChannelEvent> events) =>
        string.Concat(events.Where(e => e.Type == ChannelEventTypes.Delta).Select(e => e.DeltaText));

    /// <summary>A string property of an event's data.</summary>
    public static string? DataString(this ChannelEvent e, string property) => e.Data!.Value.GetProperty(property).GetString();

    /// <summary>Runs a scalar query against the fixture's database.</summary>
    public static async Task<T> ScalarAsync<T>(this ServersFixture servers, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(servers.MessagesConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Runs a statement against the fixture's database; returns the affected rows.</summary>
    public static async Task<int> ExecuteAsync(this ServersFixture servers, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(servers.MessagesConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        return await command.ExecuteNonQueryAsync();
    }
}
