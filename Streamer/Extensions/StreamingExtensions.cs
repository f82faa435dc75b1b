using AiStreaming.Channels;
using AiStreaming.Streamer.Delivery;
using AiStreaming.Streamer.Drain;
using AiStreaming.Streamer.Hubs;
using AiStreaming.Streamer.Presence;
using AiStreaming.Streamer.Sse;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AiStreaming.Streamer.Extensions;

/// <summary>Registration of the streamer tier's features.</summary>
internal static class StreamingExtensions
{
    /// <summary>
    /// Adds Redis (<c>ConnectionStrings:redis</c>, required), channel subscriptions with recovery, presence and
    /// SignalR without a Redis backplane: nothing here sends through SignalR across replicas (tokens go through our own
    /// per-channel subscriptions, <see cref="ChannelDispatcher"/>), and a backplane would subscribe every connection in
    /// Redis (2.1 KB each, docs/BENCHMARKS.md) and refuse new connections during a Redis outage.
    /// </summary>
    /// <exception cref="InvalidOperationException">No <c>ConnectionStrings:redis</c>.</exception>
    public static IHostApplicationBuilder AddStreaming(this IHostApplicationBuilder builder)
    {
        var redisConnectionString = builder.Configuration.GetConnectionString("redis")
            ?? throw new InvalidOperationException("Missing ConnectionStrings:redis (e.g. ConnectionStrings__redis=127.0.0.1:6379).");

        builder.Services.AddOptions<StreamerOptions>()
            .BindConfiguration(StreamerOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();

        // Accepted sockets inherit the listener's send buffer: a fixed, small kernel buffer per client bounds the memory a
        // client that stopped reading can pin and lets the slow-consumer cut-off see it within seconds, not minutes.
        builder.Services.AddOptions<SocketTransportOptions>().Configure<IOptions<StreamerOptions>>((transport, streamer) =>
        {
            var bytes = streamer.Value.SocketSendBufferBytes;
            if (bytes > 0)
            {
                transport.CreateBoundListenSocket = endpoint =>
                {
                    var socket = SocketTransportOptions.CreateDefaultBoundListenSocket(endpoint);
                    socket.SendBufferSize = bytes;
                    return socket;
                };
            }
        });

        // Aspire's multiplexer, without a Redis readiness check: during a Redis outage a replica keeps serving
        // (subscribers get `reconnecting` and wait), so it must stay in its load balancer's rotation. Readiness here
        // means "not draining" (DrainHealthCheck).
        builder.AddRedisClient("redis", settings =>
        {
            RedisMultiplexerDefaults.ConfigureSettings(settings);
            settings.DisableHealthChecks = true;
        }, RedisMultiplexerDefaults.Apply);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<StreamerTelemetry>();
        builder.AddChannels(); // Channels: options, history, publisher
        builder.Services.AddSingleton<ChannelDispatcher>();
        builder.Services.AddSingleton<SubscriptionOpener>();
        builder.Services.AddSingleton<RedisOutages>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RedisOutages>());
        builder.Services.AddSingleton<ShutdownDrain>();
        builder.Services.AddHealthChecks().AddCheck<DrainHealthCheck>("drain");
        builder.Services.AddSingleton<PresenceTracker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PresenceTracker>());
        builder.Services.AddSingleton<SseHeartbeats>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SseHeartbeats>());

        var maxReceive = builder.Configuration.GetValue<long?>($"{StreamerOptions.SectionName}:{nameof(StreamerOptions.MaximumReceiveMessageSize)}")
            ?? new StreamerOptions().MaximumReceiveMessageSize;
        builder.Services.AddSignalR(options =>
            {
                options.MaximumReceiveMessageSize = maxReceive;
                options.AddFilter<HubErrorFilter>();
            })
            .AddChannelEventProtocols();
        return builder;
    }

    /// <summary>Maps the hub (<c>/hubs/stream</c>) and SSE (<c>/sse/{channel}</c>); on shutdown, drains (<see cref="ShutdownDrain"/>).</summary>
    public static WebApplication MapStreaming(this WebApplication app)
    {
        var slowConsumerTimeout = app.Services.GetRequiredService<IOptions<StreamerOptions>>().Value.SlowConsumerTimeout;
        // A WebSocket whose client stopped reading is closed after the same bound as a stuck subscription.
        app.MapHub<StreamHub>(StreamHub.Path, o => o.TransportSendTimeout = slowConsumerTimeout);
        app.MapSseApi();

        app.Services.GetRequiredService<ShutdownDrain>().Attach(app.Lifetime);
        return app;
    }
}
