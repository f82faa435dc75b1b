var builder = DistributedApplication.CreateBuilder(args);

var redis    = builder.AddRedis("redis");
var messages = builder.AddPostgres("postgres").AddDatabase("messages");

var api = builder.AddProject("api", "../Api/Api.csproj")
    .WithReference(redis)
    .WithReference(messages)
    .WaitFor(redis)
    .WaitFor(messages);

var streamer = builder.AddProject("streamer", "../Streamer/Streamer.csproj")
    .WithReference(redis)
    .WithReplicas(2)
    .WaitFor(redis);

builder.AddProject("web", "../Web/Web.csproj")
    .WithReference(api)
    .WithReference(streamer)
    .WaitFor(api)
    .WaitFor(streamer)
    .WithExternalHttpEndpoints();

builder.Build().Run();
