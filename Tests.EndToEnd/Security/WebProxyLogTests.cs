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
        await using var client = await SseStreamClient.StartAsync(stack.Session, channel);
        var killed = stack.StreamerReplicaOf(client.Transcript.CurrentNode);

        var killedAt = DateTime.UtcNow;
        await stack.KillAsync(stack.StreamerIds[killed]);
        try
        {
            var path = $"/sse/{channel}";
            await Eventually.UntilAsync(async () => (await WebLinesAsync(webIds)).Any(l => l.Contains(path, StringComparison.Ordinal)),
                TimeSpan.FromSeconds(30), "Web's line about the cut stream");
            var lines = await WebLinesAsync(webIds);

            // Once: a reconnect that Aspire's proxy still sends to the dead replica would be a line of its own ("Could not forward").
            var cut = lines.FindIndex(l => l.Contains(path, StringComparison.Ordinal) && l.Contains("ended by its destination", StringComparison.Ordinal));
            Assert.True(cut > 0, string.Join("\n", lines.TakeLast(40)));
            Assert.Single(lines, l => l.Contains(path, StringComparison.Ordinal) && l.Contains("ended by its destination", StringComparison.Ordinal));
            Assert.Contains("info: AiStreaming.Web.Proxy", AnsiColor().Replace(lines[cut - 1], ""), StringComparison.Ordinal);
            var since = lines.Where(l => TimestampOf(l) is { } at && at >= killedAt.AddSeconds(-1)).ToList();
            Assert.DoesNotContain(since, l => StackFrame().IsMatch(l));
        }
        finally
        {
            await stack.StartAsync(stack.StreamerIds[killed]);
        }
    }

    private async Task<List<string>> WebLinesAsync(IReadOnlyList<string> webIds)
    {
        var lines = new List<string>();
        foreach (var id in webIds)
        {
            lines.AddRange(await stack.App.GetLogsAsync(id));
        }
        return lines;
    }

    // Resource log lines start with their ISO 8601 UTC timestamp.
    private static DateTime? TimestampOf(string line) =>
        line.IndexOf(' ') is > 0 and var space && DateTime.TryParse(line[..space], null, System.Globalization.DateTimeStyles.AdjustToUniversal, out var at) ? at : null;

    [GeneratedRegex(@"\x1b\[[0-9;]*m")]
    private static partial Regex AnsiColor();

    [GeneratedRegex(@"\s{2,}at [\w.<>`]+\.[\w<>`|]+\(")]
    private static partial Regex StackFrame();
}
