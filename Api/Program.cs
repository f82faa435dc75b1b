using AiStreaming.Api;
using AiStreaming.Api.Auth;
using AiStreaming.Api.Conversations;
using AiStreaming.Api.Data;
using AiStreaming.Api.Errors;
using AiStreaming.Api.Generation;
using AiStreaming.Api.Outbox;
using AiStreaming.Api.Redis;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults(ApiTelemetry.Name);
builder.Services.AddProblemDetails();
builder.Services.AddExceptionHandler<BadRequestHandler>(); // malformed input: 400, logged once without a stack trace
builder.AddApiResilience(); // named Polly pipelines: terminal write, database startup, Redis subscriptions
builder.AddData();          // PostgreSQL, schema migrations (before anything else starts)
builder.AddRedis();         // Redis, channel publisher
builder.AddOutbox();        // transactional outbox and its relay
builder.AddGeneration();    // model, generation runner, timeouts, cancel, lease sweeper
builder.AddApiAuth();        // user tokens from Web, subscription tokens, per-user rate limits
builder.AddConversations();
builder.Services.AddOpenApi(); // the document at /openapi/v1.json

var app = builder.Build();

// Malformed bodies are 400 problems in every environment (Development would otherwise throw them as 500s).
app.UseExceptionHandler(new ExceptionHandlerOptions
{
    StatusCodeSelector = exception => exception is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
});
app.UseStatusCodePages();
app.UseAuthentication();
app.UseAuthorization();
app.UseRateLimiter();

app.MapDefaultEndpoints();
app.MapOpenApi();
app.MapConversationsApi();

app.Run();

/// <summary>The Api's entry point, public so Tests.Integration can host it with <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program;
