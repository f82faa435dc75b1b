using System.Security.Cryptography;

var builder = DistributedApplication.CreateBuilder(args);

var redis    = builder.AddRedis("redis");
var messages = builder.AddPostgres("postgres").AddDatabase("messages");

// The HMAC key shared by Web (user tokens), the Api (subscription tokens) and the streamers (verifies both):
// generated per run, like an Aspire AddParameter("auth-signing-key", secret: true) with a generated default; set
// Auth:SigningKey in the AppHost's configuration (user secrets) to keep one. Passed by environment, never on a
// command line, never logged.
var signingKey = builder.Configuration["Auth:SigningKey"] is { Length: > 0 } configured
    ? configured
    : Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

var api = builder.AddProject("api", "../Api/Api.csproj")
    .WithReference(redis)
    .WithReference(messages)
    .WithEnvironment("Auth__SigningKey", signingKey)
    .WaitFor(redis)
    .WaitFor(messages);

var streamer = builder.AddProject("streamer", "../Streamer/Streamer.csproj")
    .WithReference(redis)
    .WithEnvironment("Auth__SigningKey", signingKey)
    .WithReplicas(2)
    .WaitFor(redis);

builder.AddProject("web", "../Web/Web.csproj")
    .WithReference(api)
    .WithReference(streamer)
    .WithEnvironment("Auth__SigningKey", signingKey)
    .WaitFor(api)
    .WaitFor(streamer)
    .WithExternalHttpEndpoints();

builder.Build().Run();
