using System.ClientModel;
using System.Data.Common;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using OpenAI;

namespace AiStreaming.Api.Generation;

/// <summary>Which model the Api talks to (for logs, spans and metric tags).</summary>
/// <param name="ModelId">Model name, or <c>simulated</c>.</param>
/// <param name="Endpoint">OpenAI-compatible endpoint, or <see langword="null"/> for the simulated model.</param>
public sealed record ChatModelInfo(string ModelId, Uri? Endpoint)
{
    /// <summary>Whether this is the built-in <see cref="SimulatedChatCompletionService"/>.</summary>
    public bool IsSimulated => Endpoint is null;
}

/// <summary>Parsed <c>ConnectionStrings:chat</c>.</summary>
/// <param name="Endpoint">Base URL of an OpenAI-compatible API, e.g. <c>https://api.openai.com/v1</c>,
/// <c>https://RESOURCE.openai.azure.com/openai/v1/</c>, <c>http://localhost:11434/v1</c> (Ollama).</param>
/// <param name="Key">API key, or <see langword="null"/> for servers that need none.</param>
/// <param name="Model">Model (or Azure deployment) name.</param>
public sealed record ChatConnection(Uri Endpoint, string? Key, string Model)
{
    /// <summary>The endpoint used when the connection string names none.</summary>
    public static readonly Uri DefaultEndpoint = new("https://api.openai.com/v1");

    /// <summary>
    /// Parses <c>Endpoint=…;Key=…;Model=…</c> (keys case-insensitive; <c>ApiKey</c>/<c>AccessKey</c> accepted for
    /// <c>Key</c>, <c>Deployment</c> for <c>Model</c>) with <see cref="DbConnectionStringBuilder"/>.
    /// </summary>
    /// <param name="connectionString">The connection string.</param>
    /// <returns>The connection.</returns>
    /// <exception cref="FormatException">The string is malformed, names no model, or the endpoint is not an absolute http(s) URL.</exception>
    public static ChatConnection Parse(string connectionString)
    {
        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = connectionString;
        }
        catch (ArgumentException ex)
        {
            throw new FormatException("ConnectionStrings:chat is not a valid 'Endpoint=…;Key=…;Model=…' string.", ex);
        }

        string? Get(params string[] keys) =>
            keys.Select(k => builder.TryGetValue(k, out var v) ? v?.ToString() : null).FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));

        var model = Get("Model", "Deployment")
            ?? throw new FormatException("ConnectionStrings:chat names no Model.");
        var endpointText = Get("Endpoint");
        Uri endpoint;
        if (endpointText is null)
        {
            endpoint = DefaultEndpoint;
        }
        else if (Uri.TryCreate(endpointText, UriKind.Absolute, out var parsed) && (parsed.Scheme == Uri.UriSchemeHttp || parsed.Scheme == Uri.UriSchemeHttps))
        {
            endpoint = parsed;
        }
        else
        {
            throw new FormatException($"ConnectionStrings:chat Endpoint '{endpointText}' is not an absolute http(s) URL.");
        }
        return new ChatConnection(endpoint, Get("Key", "ApiKey", "AccessKey"), model);
    }
}

/// <summary>Registers the model behind <see cref="IChatCompletionService"/>.</summary>
public static class ChatModelRegistration
{
    /// <summary>Name of the optional model connection string (<c>ConnectionStrings:chat</c>).</summary>
    public const string ConnectionName = "chat";

    /// <summary>
    /// With <c>ConnectionStrings:chat</c>: Semantic Kernel's OpenAI connector against that OpenAI-compatible endpoint
    /// (OpenAI, Azure OpenAI <c>/openai/v1</c>, Ollama, vLLM, llama.cpp). Without it: the
    /// <see cref="SimulatedChatCompletionService"/> (options from <c>SimulatedModel</c>). Either way also the model's
    /// <see cref="IReplyContinuation"/> (the simulated model's own; <see cref="ChatReplyContinuation"/> otherwise), a
    /// <see cref="Kernel"/> (<c>AddKernel()</c>) and a <see cref="ChatModelInfo"/>.
    /// </summary>
    /// <remarks>
    /// The OpenAI client uses its own HTTP pipeline (not <c>IHttpClientFactory</c>), so the service defaults' standard
    /// resilience handler, whose 30 s total timeout would cut long streams, does not apply; the generation's own
    /// timeouts bound the call and its cancellation token aborts the HTTP request.
    /// </remarks>
    /// <param name="builder">The application builder.</param>
    /// <returns>The same builder.</returns>
    /// <exception cref="FormatException"><c>ConnectionStrings:chat</c> is present but invalid.</exception>
    public static IHostApplicationBuilder AddChatModel(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<SimulatedModelOptions>()
            .BindConfiguration(SimulatedModelOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        var connectionString = builder.Configuration.GetConnectionString(ConnectionName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            builder.Services.AddSingleton<SimulatedChatCompletionService>();
            builder.Services.AddSingleton<IChatCompletionService>(sp => sp.GetRequiredService<SimulatedChatCompletionService>());
            builder.Services.AddSingleton<IReplyContinuation>(sp => sp.GetRequiredService<SimulatedChatCompletionService>());
            builder.Services.AddSingleton(new ChatModelInfo(SimulatedChatCompletionService.ModelId, null));
        }
        else
        {
            var connection = ChatConnection.Parse(connectionString);
            // Servers such as Ollama ignore the key, but the client requires one.
            var client = new OpenAIClient(
                new ApiKeyCredential(connection.Key ?? "unused"),
                new OpenAIClientOptions { Endpoint = connection.Endpoint });
            builder.Services.AddOpenAIChatCompletion(connection.Model, client);
            builder.Services.AddSingleton<IReplyContinuation, ChatReplyContinuation>();
            builder.Services.AddSingleton(new ChatModelInfo(connection.Model, connection.Endpoint));
        }

        builder.Services.AddKernel();
        return builder;
    }
}
