using AiStreaming.Bench.Report;

namespace AiStreaming.Bench.Scenarios;

/// <summary>
/// <c>--smoke</c>: exactness only, for CI, in well under a minute including the stack's start: chat 10 × 1 at
/// 200 tokens/s for about 8 s, then a small fan-out (3 × 20) for about 4 s, on one stack. Never asserts speed.
/// </summary>
public static class SmokeScenario
{
    /// <summary>Runs both parts; the caller checks <see cref="RunResult.Exact"/> (and that messages completed).</summary>
    public static async Task<IReadOnlyList<RunResult>> RunAsync(BenchOptions options, CancellationToken cancellationToken)
    {
        options.TokensPerSecond = options.Generations is null ? 200 : options.TokensPerSecond;
        options.ModelTimeToFirstToken = TimeSpan.FromMilliseconds(50);
        options.MinTokens = 40;
        options.MaxTokens = 120;
        options.Warmup = TimeSpan.FromSeconds(1);
        await using var stack = await BenchProgram.StartStackAsync(options, null, cancellationToken);
        options.Duration = TimeSpan.FromSeconds(7);
        var chat = await ChatScenario.RunAsync(stack, options, options.GenerationsOr(10), 1, "smoke chat", cancellationToken);
        options.Duration = TimeSpan.FromSeconds(3);
        var fanout = await ChatScenario.RunAsync(stack, options, 3, options.SubscribersOr(20), "smoke fanout", cancellationToken);
        foreach (var run in new[] { chat, fanout })
        {
            // A smoke run that delivered nothing proves nothing: count it as a failure.
            if (run.Messages == 0 || run.DeliveredTokens == 0)
            {
                run.IncompleteMessages++;
                run.Extra["failure"] = "no message completed";
            }
        }
        return [chat, fanout];
    }
}
