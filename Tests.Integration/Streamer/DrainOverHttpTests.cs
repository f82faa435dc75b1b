using System.Net;
using AiStreaming.Channels;
using AiStreaming.Streamer.Delivery;
using AiStreaming.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AiStreaming.Tests.Streamer;

/// <summary>
/// Graceful drain of the real streamer host: told to stop, its readiness (<c>/health</c>) fails at once, it keeps
/// serving for <c>Streamer:DrainDelay</c>, then a hub subscription ends with <c>resubscribe{shutdown}</c> (the drain runs
/// before SignalR closes its connections).
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class DrainOverHttpTests(ServersFixture servers)
{
    [Fact]
    public async Task Stopping_fails_readiness_at_once_keeps_serving_for_the_delay_then_ends_subscriptions_with_resubscribe_shutdown()
    {
        await using var factory = new StreamerFactory(servers.RedisConnectionString + ",abortConnect=false", TimeSpan.FromSeconds(3));
        var http = factory.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);
        await using var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(factory.Server.BaseAddress, "/hubs/stream"), options =>
            {
                options.Transports = HttpTransportType.LongPolling;
                options.HttpMessageHandlerFactory = _ => factory.Server.CreateHandler();
                options.Headers["Authorization"] = TestAuth.Bearer(TestAuth.DefaultUser).ToString();
            })
            .Build();
        await connection.StartAsync();
        var channel = ChannelName.ForConversation(Guid.NewGuid()).Value;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var frames = new List<ChannelEvent>();
        var reading = Task.Run(async () =>
        {
            await foreach (var e in connection.StreamAsync<ChannelEvent>("Subscribe", channel, null, null, TestAuth.SubscriptionToken(TestAuth.DefaultUser, channel), timeout.Token))
            {
                lock (frames)
                {
                    frames.Add(e);
                }
            }
        });
        await Eventually.UntilAsync(() => { lock (frames) { return frames.Count > 0; } }, TimeSpan.FromSeconds(10), "subscribed");

        var stopping = Task.Run(factory.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication);
        await Eventually.UntilAsync(async () => (await http.GetAsync("/health")).StatusCode == HttpStatusCode.ServiceUnavailable,
            TimeSpan.FromSeconds(5), "readiness to fail");
        lock (frames)
        {
            Assert.DoesNotContain(frames, f => f.Type == ChannelEventTypes.Resubscribe); // still serving during the delay
        }
        await stopping;
        await reading.WaitAsync(TimeSpan.FromSeconds(10));

        var last = frames[^1];
        Assert.Equal(ChannelEventTypes.Resubscribe, last.Type);
        Assert.Equal(ResubscribeReasons.Shutdown, last.Data!.Value.GetProperty("reason").GetString());
    }
}
