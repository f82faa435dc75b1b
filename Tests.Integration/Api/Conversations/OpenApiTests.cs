using System.Net;
using System.Text.Json;
using AiStreaming.Tests.Infrastructure;

namespace AiStreaming.Tests.Api.Conversations;

/// <summary>The Api publishes its OpenAPI document (<c>AddOpenApi</c> / <c>MapOpenApi</c>).</summary>
[Collection(ServersCollection.Name)]
public class OpenApiTests(ServersFixture servers)
{
    [Fact]
    public async Task The_OpenAPI_document_lists_the_conversation_endpoints_with_names_and_summaries()
    {
        await using var api = new ApiFactory(servers);
        using var response = await api.CreateAnonymousClient().GetAsync("/openapi/v1.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var paths = document.RootElement.GetProperty("paths");
        var operations = new Dictionary<string, string>();
        foreach (var path in paths.EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                operations[$"{operation.Name.ToUpperInvariant()} {path.Name}"] = operation.Value.GetProperty("operationId").GetString()!;
                Assert.False(string.IsNullOrWhiteSpace(operation.Value.GetProperty("summary").GetString()));
            }
        }

        Assert.Equal("CreateConversation", operations["POST /api/conversations"]);
        Assert.Equal("ListConversations", operations["GET /api/conversations"]);
        Assert.Equal("GetConversation", operations["GET /api/conversations/{id}"]);
        Assert.Equal("GetSubscriptionToken", operations["GET /api/conversations/{id}/token"]);
        Assert.Equal("PostMessage", operations["POST /api/conversations/{id}/messages"]);
        Assert.Equal("GetMessage", operations["GET /api/conversations/{id}/messages/{messageId}"]);
        Assert.Equal("CancelMessage", operations["POST /api/conversations/{id}/messages/{messageId}/cancel"]);
    }
}
