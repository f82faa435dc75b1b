using AiStreaming.Streamer;
using AiStreaming.Streamer.Extensions;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults(StreamerTelemetry.Name);
builder.AddStreaming();
builder.Services.AddProblemDetails();

var app = builder.Build();

app.UseExceptionHandler();
app.MapDefaultEndpoints();
app.MapStreaming();

app.Run();
