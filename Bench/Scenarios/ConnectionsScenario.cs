using AiStreaming.Bench.Report;

namespace AiStreaming.Bench.Scenarios;

/// <summary><c>connections</c>.</summary>
public static class ConnectionsScenario
{
    /// <summary>Runs the scenario.</summary>
    public static Task<RunResult> RunAsync(BenchOptions options, CancellationToken cancellationToken) => throw new NotImplementedException();
}
