using System.Net;
using AiStreaming.Api.Generation;
using AiStreaming.Channels;
using AiStreaming.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace AiStreaming.Tests.Api.Generation;

/// <summary>
/// Admission control: <c>Generation:MaxConcurrentPerModel</c> generations of a model run at once across Api instances;
/// the others wait FIFO with <c>message.queued</c> events, and fail <c>queue_timeout</c> after <c>Generation:MaxQueueWait</c>.
/// </summary>
[Collection(ServersCollection.Name)]
public class AdmissionTests(ServersFixture servers)
{
    [Fact]
    public async Task A_request_over_the_limit_waits_with_message_queued_and_starts_when_a_slot_frees_on_another_instance()
    {
        await using var a = new ApiFactory(servers, ApiFactory.Slow(30, ("Generation:MaxConcurrentPerModel", "1")));
        await using var b = new ApiFactory(servers, ApiFactory.Slow(30, ("Generation:MaxConcurrentPerModel", "1")));
        await ResetAsync(a);
        var httpA = a.CreateClient();
        var httpB = b.CreateClient();
        var first = await httpA.CreateConversationAsync();
        var second = await httpB.CreateConversationAsync();
        var running = await httpA.PostAcceptedAsync(first, "I hold the slot");
        await servers.WaitForDeltasAsync(first, running.MessageId, 1);

        var waiting = await httpB.PostAcceptedAsync(second, "I wait my turn");
        await Eventually.UntilAsync(
            async () => (await servers.ReadChannelAsync(second)).Any(e => e.Type == ChannelEventTypes.MessageQueued),
            ApiTestExtensions.Patience, "message.queued");
        Assert.DoesNotContain(await servers.ReadChannelAsync(second), e => e.Type == ChannelEventTypes.Delta);

        using var cancel = await httpA.CancelAsync(first, running.MessageId);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        await servers.WaitForDeltasAsync(second, waiting.MessageId, 1);

        var events = await servers.ReadChannelAsync(second);
        var queued = Assert.Single(events, e => e.Type == ChannelEventTypes.MessageQueued);
        Assert.Equal(1, queued.Data!.Value.GetProperty("position").GetInt32());
        Assert.Equal(waiting.MessageId, queued.MessageId);
        Assert.True(queued.Offset < events.First(e => e.Type == ChannelEventTypes.Delta).Offset);
        await httpB.CancelAsync(second, waiting.MessageId);
    }

    [Fact]
    public async Task A_request_waiting_past_MaxQueueWait_ends_failed_with_queue_timeout()
    {
        await using var api = new ApiFactory(servers, ApiFactory.Slow(
            30, ("Generation:MaxConcurrentPerModel", "1"), ("Generation:MaxQueueWait", "00:00:00.500")));
        await ResetAsync(api);
        var http = api.CreateClient();
        var first = await http.CreateConversationAsync();
        var second = await http.CreateConversationAsync();
        var running = await http.PostAcceptedAsync(first, "I hold the slot");
        await servers.WaitForDeltasAsync(first, running.MessageId, 1);

        var waiting = await http.PostAcceptedAsync(second, "I give up");
        var message = await http.WaitUntilEndedAsync(second, waiting.MessageId);

        Assert.Equal(MessageStatus.Failed, message.Status);
        Assert.Equal(FailureCodes.QueueTimeout, message.Error?.Code);
        var events = await servers.WaitForTerminalEventAsync(second, waiting.MessageId);
        Assert.Equal(
            [ChannelEventTypes.MessageStarted, ChannelEventTypes.MessageQueued, ChannelEventTypes.MessageFailed],
            events.Select(e => e.Type));
        Assert.Equal(FailureCodes.QueueTimeout, events[^1].DataString("code"));
        await http.CancelAsync(first, running.MessageId);
    }

    [Fact]
    public async Task A_slot_whose_Api_died_expires_and_no_longer_counts()
    {
        await using var api = new ApiFactory(servers, new Dictionary<string, string?> { ["Generation:MaxConcurrentPerModel"] = "1" });
        await ResetAsync(api);
        var admission = api.Services.GetRequiredService<AdmissionControl>();
        var redis = api.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        // Held by an Api that died a second ago: its lease (the score) has passed.
        await redis.SortedSetAddAsync(admission.SlotsKey, Guid.NewGuid().ToString("D"), DateTimeOffset.UtcNow.AddSeconds(-1).ToUnixTimeMilliseconds());
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();

        var accepted = await http.PostAcceptedAsync(id, "Is the slot free?");

        Assert.Equal(MessageStatus.Completed, (await http.WaitUntilEndedAsync(id, accepted.MessageId)).Status);
        Assert.DoesNotContain(await servers.ReadChannelAsync(id), e => e.Type == ChannelEventTypes.MessageQueued);
    }

    private static async Task ResetAsync(ApiFactory api)
    {
        var admission = api.Services.GetRequiredService<AdmissionControl>();
        var prefix = admission.SlotsKey.ToString()[..^":slots".Length];
        var redis = api.Services.GetRequiredService<IConnectionMultiplexer>().GetDatabase();
        await redis.KeyDeleteAsync([$"{prefix}:slots", $"{prefix}:queue", $"{prefix}:alive"]);
    }
}
