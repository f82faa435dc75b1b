using System.Text;
using System.Text.Json;
using AiStreaming.Api.Generation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.SemanticKernel.ChatCompletion;

namespace AiStreaming.Bench.Baseline;

/// <summary>
/// The tutorial toy the stack is compared with: one process that runs the same simulated model
/// (<see cref="SimulatedChatCompletionService"/>, stamped tokens) inside the request and writes one SSE event per model
/// token straight to the client, flushing each: <c>GET /stream</c> → <c>data: {"text":" 1764350000123456"}</c> … then
/// <c>event: done</c> with the full text. No history, no fan-out, no recovery. Run as
/// <c>dotnet Bench.dll baseline-server --urls http://127.0.0.1:PORT --tokens-per-second R --ttft 200ms</c>, so its CPU
/// is measured alone.
/// </summary>
public static class BaselineServer
{
    /// <summary>Serves until the process is stopped.</summary>
    public static async Task RunAsync(BenchOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(options.Urls ?? "http://127.0.0.1:5099");
        builder.Logging.ClearProviders();
        var model = new SimulatedChatCompletionService(Microsoft.Extensions.Options.Options.Create(new SimulatedModelOptions
        {
            StampTokens = true,
            TokensPerSecond = options.TokensPerSecond,
            TimeToFirstToken = options.ModelTimeToFirstToken,
            MinTokens = options.MinTokens,
            MaxTokens = options.MaxTokens,
        }));
        var app = builder.Build();
        app.MapGet("/health", () => "ok");
        app.MapGet("/stream", async (HttpContext context, CancellationToken cancellationToken) =>
        {
            var response = context.Response;
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache";
            context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            var history = new ChatHistory();
            history.AddUserMessage("bench");
            var full = new StringBuilder();
            await foreach (var chunk in model.GetStreamingChatMessageContentsAsync(history, cancellationToken: cancellationToken))
            {
                full.Append(chunk.Content);
                await response.WriteAsync($"data: {{\"text\":{JsonSerializer.Serialize(chunk.Content)}}}\n\n", cancellationToken);
                await response.Body.FlushAsync(cancellationToken);
            }
            await response.WriteAsync($"event: done\ndata: {{\"text\":{JsonSerializer.Serialize(full.ToString())}}}\n\n", cancellationToken);
            await response.Body.FlushAsync(cancellationToken);
        });
        await app.RunAsync();
    }
}
