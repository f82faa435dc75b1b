using AiStreaming.AppHost;
using AiStreaming.AppHost.LocalServers;

var builder = DistributedApplication.CreateBuilder(args);

// No container engine runs on the machines this template targets, so run mode starts Debian's redis-server and postgres
// as executables (LocalServers/); publish mode writes Aspire's container resources for azd. Where a container engine
// exists, `builder.AddRedis("redis")` and `builder.AddPostgres("postgres").AddDatabase("messages")` replace each line.
IResourceBuilder<IResourceWithConnectionString> redis = builder.ExecutionContext.IsPublishMode
    ? builder.AddRedis("redis")
    : builder.AddRedisServer("redis");
var localPostgres = builder.ExecutionContext.IsPublishMode ? null : builder.AddPostgresServer("postgres");
IResourceBuilder<IResourceWithConnectionString> messages = localPostgres is null
    ? builder.AddPostgres("postgres").AddDatabase("messages")
    : localPostgres.AddDatabase("messages");

// The HMAC key shared by Web (user tokens), the Api (subscription tokens) and the streamers (verifies both). Generated on
// first run and kept in the AppHost's user secrets (Parameters:auth-signing-key); set it there to choose one.
var signingKey = builder.AddParameter("auth-signing-key", new GenerateParameterDefault { MinLength = 64, Special = false }, secret: true, persist: true);

// On a Redis Cluster live events take sharded pub/sub, which stays on the channel's shard; publishers and streamers must agree.
var shardedPubSub = LocalRedis.IsClusterRequested(builder) ? "true" : "false";

var api = builder.AddProject<Projects.Api>("api")
    .WithReference(redis)
    .WithReference(messages)
    .WithEnvironment("Auth__SigningKey", signingKey)
    .WithEnvironment("Channels__ShardedPubSub", shardedPubSub)
    // Admission control: at most this many replies per model at once across both replicas (the rest queue, FIFO).
    .WithEnvironment("Generation__MaxConcurrentPerModel", "64")
    // Abandonment: a reply nobody has watched for 30 s is cancelled (a reload within that keeps it).
    .WithEnvironment("Generation__AbandonAfter", "00:00:30")
    .WithReplicas(2)
    .WithHttpHealthCheck("/health")
    .WaitFor(redis)
    .WaitFor(messages);

var streamer = builder.AddProject<Projects.Streamer>("streamer")
    .WithReference(redis)
    .WithEnvironment("Auth__SigningKey", signingKey)
    .WithEnvironment("Channels__ShardedPubSub", shardedPubSub)
    // DCP gives a stopping replica about 12 s before it fails the stop (or restart). Aspire's proxy does not read
    // readiness, so streams keep arriving while a replica drains, and the host would wait 30 s for them: end them after
    // 5 s instead (their clients resume on the other replica). Container Apps has its own termination grace period.
    .WithEnvironment("DOTNET_shutdownTimeoutSeconds", "5")
    .WithReplicas(2)
    .WithHttpHealthCheck("/health")
    .WaitFor(redis);

var web = builder.AddProject<Projects.Web>("web")
    .WithReference(api)
    .WithReference(streamer)
    .WithReference(redis) // the shared Data Protection key ring and signed-out sessions
    .WithEnvironment("Auth__SigningKey", signingKey)
    .WithReplicas(2)
    .WithHttpHealthCheck("/health")
    .WaitFor(api)
    .WaitFor(streamer)
    .WaitFor(redis)
    .WithExternalHttpEndpoints()
    .WithUrlPrintedWhenReady();

// Sign-in: a development OpenID Connect provider of ours in run mode, Entra ID or any authority when deployed (SignIn.cs).
web.WithSignIn(localPostgres);

builder.RunServicesUnprivileged().Build().Run();
