using AiStreaming.Bench.Report;

namespace AiStreaming.Bench.Scenarios;

/// <summary><c>slow-readers</c>.</summary>
public static class SlowReadersScenario
{
    /// <summary>Runs the scenario.</summary>
    public static Task<RunResult> RunAsync(BenchOptions options, CancellationToken cancellationToken) => throw new NotImplementedException();
}
