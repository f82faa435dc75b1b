using AiStreaming.Bench.Baseline;
using AiStreaming.Bench.Report;
using AiStreaming.Bench.Scenarios;
using AiStreaming.Bench.Stack;

namespace AiStreaming.Bench;

/// <summary>The bench's entry point: parses the command line, runs a scenario, prints tables and writes JSON.</summary>
public static class BenchProgram
{
    /// <summary>
    /// Runs <c>&lt;scenario&gt; [options]</c> (see <see cref="BenchOptions.Usage"/>). Exit code 0 when the run completed
    /// and every delivery was exact, 1 when anything was lost, duplicated, different or unfinished, 2 on bad arguments.
    /// </summary>
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args.Contains("--help") || args.Contains("-h"))
        {
            Console.WriteLine(BenchOptions.Usage);
            return args.Length == 0 ? 2 : 0;
        }
        BenchOptions options;
        try
        {
            options = BenchOptions.Parse(args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(BenchOptions.Usage);
            return 2;
        }
        if (options.Scenario == "baseline-server")
        {
            await BaselineServer.RunAsync(options);
            return 0;
        }

        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        Console.WriteLine($"bench {options.Scenario}: {Environment.ProcessorCount} cores, load avg {Measure.ProcessSampler.LoadAverage1m():0.00}, services built {options.Configuration}");
        var document = new Dictionary<string, object>
        {
            ["scenario"] = options.Scenario,
            ["args"] = args,
            ["machine"] = new { cores = Environment.ProcessorCount, os = Environment.OSVersion.VersionString, dotnet = Environment.Version.ToString() },
        };
        var runs = new List<RunResult>();
        try
        {
            switch (options.Scenario)
            {
                case "baseline":
                    runs.Add(await BaselineScenario.RunAsync(options, options.GenerationsOr(100), cts.Token));
                    break;
                case "compare":
                    var baseline = await BaselineScenario.RunAsync(options, options.GenerationsOr(100), cts.Token);
                    runs.Add(baseline);
                    ResultPrinter.Print(baseline);
                    await using (var stack = await StartStackAsync(options, null, cts.Token))
                    {
                        runs.Add(await ChatScenario.RunAsync(stack, options, options.GenerationsOr(100), 1, "chat", cts.Token));
                    }
                    ResultPrinter.Print(runs[1]);
                    document["ratios"] = ResultPrinter.PrintRatios(baseline, runs[1]);
                    break;
                case "speeds":
                    // compare at each pace, a fresh stack each (the model's pace is a service setting), then one summary.
                    var pairs = new List<(double R, RunResult Baseline, RunResult Chat)>();
                    foreach (var speed in BenchOptions.Speeds)
                    {
                        options.TokensPerSecond = speed;
                        var toy = await BaselineScenario.RunAsync(options, options.GenerationsOr(100), cts.Token);
                        ResultPrinter.Print(toy);
                        await using (var stack = await StartStackAsync(options, null, cts.Token))
                        {
                            var chat = await ChatScenario.RunAsync(stack, options, options.GenerationsOr(100), 1, $"chat R={speed}", cts.Token);
                            ResultPrinter.Print(chat);
                            document[$"ratios R={speed}"] = ResultPrinter.PrintRatios(toy, chat);
                            pairs.Add((speed, toy, chat));
                            runs.AddRange([toy, chat]);
                        }
                    }
                    ResultPrinter.PrintSpeeds(pairs);
                    break;
                case "chat" or "fanout":
                    await using (var stack = await StartStackAsync(options, null, cts.Token))
                    {
                        var fanout = options.Scenario == "fanout";
                        runs.Add(await ChatScenario.RunAsync(stack, options, options.GenerationsOr(fanout ? 10 : 100),
                            options.SubscribersOr(fanout ? 500 : 1), options.Scenario, cts.Token));
                    }
                    break;
                case "connections":
                    runs.Add(await ConnectionsScenario.RunAsync(options, cts.Token));
                    break;
                case "slow-readers":
                    runs.Add(await SlowReadersScenario.RunAsync(options, cts.Token));
                    break;
                case "smoke":
                    runs.AddRange(await SmokeScenario.RunAsync(options, cts.Token));
                    break;
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Console.Error.WriteLine("Cancelled.");
            return 1;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A run that could not complete (a service did not start, clients could not connect or subscribe) is a failure.
            Console.Error.WriteLine($"bench {options.Scenario} failed: {ex.GetType().Name}: {ex.Message}");
            return 1;
        }
        if (options.Scenario is not ("compare" or "speeds"))
        {
            runs.ForEach(r => ResultPrinter.Print(r));
        }
        document["runs"] = runs;
        var path = ResultPrinter.WriteJson(document, options.Scenario, options.JsonPath);
        Console.WriteLine();
        var exact = runs.All(r => r.Exact);
        Console.WriteLine($"results: {path}; exactness: {(exact ? "OK (0 lost, 0 duplicated, every text equal)" : "FAILED")}");
        return exact ? 0 : 1;
    }

    /// <summary>Starts the stack, printing how long it took.</summary>
    public static async Task<BenchStack> StartStackAsync(BenchOptions options, IDictionary<string, string>? streamerEnvironment, CancellationToken cancellationToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var stack = await BenchStack.StartAsync(options, streamerEnvironment, cancellationToken);
        Console.WriteLine($"  stack started in {clock.Elapsed.TotalSeconds:0.0} s (api, streamer ×{stack.StreamerReplicas}, web, redis, postgres)");
        return stack;
    }
}
