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

// On a Redis Cluster live events take sharded pub/sub, which stays on the channel's shard; publishers and streamers must agree.
var shardedPubSub = redis.Resource.IsCluster ? "true" : "false";

// Replicas sit behind one load-balanced endpoint, as under Aspire: consumers see services__api__http__0 only.
var api = builder.AddProject<Projects.Api>("api")
    .WithReference(redis)
    .WithEnvironment("Channels__ShardedPubSub", shardedPubSub)
    .WithReference(messages)
    .WithEnvironment("Auth__SigningKey", signingKey)
    // Admission control: at most this many replies per model at once across both replicas (the rest queue, FIFO).
    .WithEnvironment("Generation__MaxConcurrentPerModel", "64")
    // Abandonment: a reply nobody has watched for 30 s is cancelled (a reload within that keeps it).
    .WithEnvironment("Generation__AbandonAfter", "00:00:30")
    .WithReplicas(2)
    .WaitFor(redis)
    .WaitFor(messages);

var streamer = builder.AddProject<Projects.Streamer>("streamer")
    .WithReference(redis)
    .WithEnvironment("Channels__ShardedPubSub", shardedPubSub)
    .WithEnvironment("Auth__SigningKey", signingKey)
    .WithReplicas(2)
    // SignalR's fallback transports (SSE, long polling) negotiate first: keep a client on one replica, as ACA's sticky sessions do.
    .WithStickySessions()
    .WaitFor(redis);

builder.AddProject<Projects.Web>("web")
    .WithReference(api)
    .WithReference(streamer)
    .WithEnvironment("Auth__SigningKey", signingKey)
    .WaitFor(api)
    .WaitFor(streamer)
    .WithExternalHttpEndpoints();

builder.Build().Run();
