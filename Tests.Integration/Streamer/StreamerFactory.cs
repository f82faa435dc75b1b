using AiStreaming.Streamer;
using AiStreaming.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace AiStreaming.Tests.Streamer;

/// <summary>
/// The streamer in memory (<see cref="WebApplicationFactory{TEntryPoint}"/>, its real <c>Program.cs</c>) against
/// <paramref name="redis"/>, with the tests' signing key, heartbeats every 200 ms and no drain delay. The marker type is
/// public and in the streamer's assembly (Api, Streamer and AppHost each have a top-level <c>Program</c>).
/// </summary>
/// <param name="redis">StackExchange.Redis configuration string.</param>
/// <param name="drainDelay">Value of <c>Streamer:DrainDelay</c> (default none).</param>
internal sealed class StreamerFactory(string redis, TimeSpan? drainDelay = null) : WebApplicationFactory<StreamerTelemetry>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("ConnectionStrings:redis", redis);
        builder.UseSetting("Auth:SigningKey", TestAuth.SigningKey);
        builder.UseSetting("OTEL_EXPORTER_OTLP_ENDPOINT", "");
        builder.UseSetting("Logging:LogLevel:Default", "Warning");
        builder.UseSetting("Streamer:SseHeartbeatInterval", "00:00:00.200");
        builder.UseSetting("Streamer:DrainDelay", (drainDelay ?? TimeSpan.Zero).ToString("c"));
    }
}
