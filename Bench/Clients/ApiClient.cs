using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace AiStreaming.Bench.Clients;

/// <summary>The Api calls the bench makes (docs/protocol.md, "Api"): create a conversation, post a message.</summary>
/// <param name="http">Client whose base address is the Api (or Web, which proxies <c>/api</c>).</param>
public sealed class ApiClient(HttpClient http)
{
    private long _conflicts;

    /// <summary>409 answers retried (the previous reply of the conversation was still streaming).</summary>
    public long Conflicts => Interlocked.Read(ref _conflicts);

    /// <summary>Creates a client with no connection limit.</summary>
    public static ApiClient Create(Uri baseAddress)
    {
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 256 };
        if (BenchAuth.WebCookies is { } cookies)
        {
            handler.CookieContainer = cookies;
        }
        var http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", BenchAuth.UserToken);
        http.DefaultRequestHeaders.Add("X-Requested-With", "bench");
        return new(http);
    }

    /// <summary><c>POST /api/conversations</c>; returns the id and channel <c>conv:{id}</c>.</summary>
    /// <exception cref="HttpRequestException">Not 201.</exception>
    public async Task<(Guid Id, string Channel)> CreateConversationAsync(CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync("/api/conversations", new { title = "bench" }, cancellationToken);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        var id = body.GetProperty("id").GetGuid();
        return (id, $"conv:{id:D}");
    }

    /// <summary>
    /// <c>POST /api/conversations/{id}/messages</c>; returns the assistant message id. Retries while the previous reply
    /// is still being stored (409), for up to 10 s.
    /// </summary>
    /// <exception cref="HttpRequestException">Another status than 202/409, or 409 for too long.</exception>
    public async Task<Guid> PostMessageAsync(Guid conversationId, string content, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            using var response = await http.PostAsJsonAsync($"/api/conversations/{conversationId}/messages", new { content }, cancellationToken);
            if (response.StatusCode == HttpStatusCode.Conflict && attempt < 500)
            {
                Interlocked.Increment(ref _conflicts);
                await Task.Delay(20, cancellationToken);
                continue;
            }
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                throw new HttpRequestException($"POST message: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(cancellationToken)}");
            }
            var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            return body.GetProperty("messageId").GetGuid();
        }
    }

    /// <summary><c>GET /api/conversations/{id}</c>: the stored assistant messages (id, status, content), oldest first.</summary>
    public async Task<List<(Guid Id, string Status, string Content)>> GetRepliesAsync(Guid conversationId, CancellationToken cancellationToken)
    {
        var body = await http.GetFromJsonAsync<JsonElement>($"/api/conversations/{conversationId}", cancellationToken);
        return [.. body.GetProperty("messages").EnumerateArray()
            .Where(m => m.GetProperty("role").GetString() == "assistant")
            .Select(m => (m.GetProperty("id").GetGuid(), m.GetProperty("status").GetString()!, m.GetProperty("content").GetString() ?? ""))];
    }
}
