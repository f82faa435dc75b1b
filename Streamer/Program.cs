using AiStreaming.Streamer;
using AiStreaming.Streamer.Auth;
using AiStreaming.Streamer.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults(StreamerTelemetry.Name);
builder.AddStreaming();
builder.AddStreamerAuth();  // user tokens, subscription tokens, allowed origins, per-user limits
builder.Services.AddProblemDetails();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStreamerAuth();
app.MapDefaultEndpoints();
app.MapStreaming();

app.Run();
