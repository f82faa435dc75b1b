using AiStreaming.Bench;

namespace AiStreaming.Tests.Bench;

/// <summary>
/// The bench's <c>--smoke</c> run in CI: its own stack (services in this test build's configuration), a short chat and a
/// small fan-out; asserts exactness only (0 lost, 0 duplicated, every text equal), never speed.
/// </summary>
[Collection(BenchCollection.Name)]
public class BenchSmokeTests
{
    [Fact]
    public async Task Smoke_run_delivers_every_offset_exactly_once_with_every_text_equal()
    {
        var json = Path.Combine(Path.GetTempPath(), $"bench-smoke-{Guid.NewGuid():N}.json");
        try
        {
            var exitCode = await BenchProgram.RunAsync(["--smoke", "--json", json]);

            Assert.True(exitCode == 0, $"bench --smoke exited with {exitCode}: {(File.Exists(json) ? File.ReadAllText(json) : "no results file")}");
            Assert.Contains("\"lostOffsets\": 0", File.ReadAllText(json), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(json);
        }
    }
}

/// <summary>The bench smoke run starts its own stack; its own collection keeps it apart from the shared end-to-end stack.</summary>
[CollectionDefinition(Name)]
public sealed class BenchCollection
{
    public const string Name = "bench";
}
