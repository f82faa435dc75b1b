using System.Text.RegularExpressions;
using AiStreaming.Tests.Aspire;
using AiStreaming.Tests.EndToEnd;
using AiStreaming.Tests.Infrastructure;

namespace AiStreaming.Tests.Security;

/// <summary>Web's log of a proxied stream cut by a streamer's death: one line, at Information, no stack trace.</summary>
[Collection(StackCollection.Name)]
public partial class WebProxyLogTests(StackFixture stack)
{
    [Fact]
    public async Task A_proxied_stream_cut_by_a_streamer_death_is_logged_once_by_web_at_information_without_a_stack_trace()
    {
        var (_, channel) = await stack.CreateConversationAsync();
        var webIds = await stack.App.ReplicaIdsAsync("web");
        var linesBefore = new Dictionary<string, int>();
        foreach (var id in webIds)
        {
            linesBefore[id] = (await stack.App.GetLogsAsync(id)).Count;
        }
        await using var client = await SseStreamClient.StartAsync(stack.Session, channel);
        var killed = stack.StreamerReplicaOf(client.Transcript.CurrentNode);

        await stack.KillAsync(stack.StreamerIds[killed]);
        try
        {
            var path = $"/sse/{channel}";
            await Eventually.UntilAsync(async () => (await NewWebLinesAsync(webIds, linesBefore)).Any(l => l.Contains(path, StringComparison.Ordinal)),
                TimeSpan.FromSeconds(30), "Web's line about the cut stream");
            var lines = await NewWebLinesAsync(webIds, linesBefore);

            // Once: a reconnect that Aspire's proxy still sends to the dead replica is a line of its own ("Could not forward").
            Assert.Single(lines, l => l.Contains(path, StringComparison.Ordinal) && l.Contains("ended by its destination", StringComparison.Ordinal));
            Assert.Contains(lines, l => l.Contains("info: AiStreaming.Web.Proxy", StringComparison.Ordinal));
            Assert.DoesNotContain(lines, l => StackFrame().IsMatch(l));
        }
        finally
        {
            await stack.StartAsync(stack.StreamerIds[killed]);
        }
    }

    private async Task<List<string>> NewWebLinesAsync(IReadOnlyList<string> webIds, Dictionary<string, int> linesBefore)
    {
        var lines = new List<string>();
        foreach (var id in webIds)
        {
            lines.AddRange((await stack.App.GetLogsAsync(id)).Skip(linesBefore[id]));
        }
        return lines;
    }

    [GeneratedRegex(@"^\s+at [\w.<>`]+\.[\w<>`|]+\(")]
    private static partial Regex StackFrame();
}
