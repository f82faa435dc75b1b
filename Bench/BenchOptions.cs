using System.Globalization;
using System.Reflection;

namespace AiStreaming.Bench;

/// <summary>
/// Command line of the bench: <c>&lt;scenario&gt; [--generations G] [--subscribers S] [--tokens-per-second R] [--api-replicas N]
/// [--duration 30s] [--warmup 20s] [--connections N] [--slow K] [--protocol json|messagepack] [--transport signalr|sse]
/// [--through-web] [--env K=V ...] [--json out.json] [--smoke]</c>.
/// </summary>
public sealed class BenchOptions
{
    /// <summary>Scenario names accepted on the command line.</summary>
    public static readonly string[] Scenarios = ["chat", "fanout", "connections", "slow-readers", "baseline", "compare", "speeds", "smoke"];

    /// <summary>The model paces of <c>speeds</c>, tokens per second: the bench's default and a real model's.</summary>
    public static readonly double[] Speeds = [40, 100];

    /// <summary>The scenario (<see cref="Scenarios"/>); <c>--smoke</c> alone means <c>smoke</c>.</summary>
    public string Scenario { get; set; } = "chat";

    /// <summary>Concurrent generations (conversations streaming at once), G. Default per scenario.</summary>
    public int? Generations { get; set; }

    /// <summary>Subscribers per generation, S. Default 1 (fanout: 500).</summary>
    public int? Subscribers { get; set; }

    /// <summary>Model pace, tokens per second per generation. Default 40.</summary>
    public double TokensPerSecond { get; set; } = 40;

    /// <summary>
    /// Api replicas for the run (<c>--api-replicas</c>, default 1; the AppHost runs 2). One by default so that CPU per
    /// token compares with earlier runs and the toy: on a 2-core box a second Api halves what each process batches
    /// into one Redis round trip and adds a process's wake-ups, which costs more CPU per token (docs/BENCHMARKS.md).
    /// </summary>
    public int ApiReplicas { get; set; } = 1;

    /// <summary>The simulated model's own time to first token. Default 200 ms.</summary>
    public TimeSpan ModelTimeToFirstToken { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Fewest and most tokens per reply. Default 60..220 (the simulated model's defaults).</summary>
    public int MinTokens { get; set; } = 60;

    /// <summary>Most tokens per reply. Default 220.</summary>
    public int MaxTokens { get; set; } = 220;

    /// <summary>Measurement window after the warm-up. Default 30 s.</summary>
    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether <c>--duration</c> was given (scenarios with another default use theirs otherwise).</summary>
    public bool DurationGiven { get; set; }

    /// <summary>
    /// Load before the measurement window (not counted in rates, CPU or latency; counted in exactness). Default 20 s:
    /// with 5 s, a quarter of the Api's CPU in the window was still the runtime's tiered JIT (perf, docs/BENCHMARKS.md).
    /// </summary>
    public TimeSpan Warmup { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary><c>connections</c>: idle subscribed connections to open on one streamer replica. Default 10000.</summary>
    public int Connections { get; set; } = 10_000;

    /// <summary><c>slow-readers</c>: never-reading SSE sockets and, as many again, never-reading WebSockets. Default 50.</summary>
    public int Slow { get; set; } = 50;

    /// <summary>SignalR hub protocol: <c>json</c> (default) or <c>messagepack</c>.</summary>
    public string Protocol { get; set; } = "json";

    /// <summary>Subscriber transport for chat/fanout: <c>signalr</c> (default, WebSockets) or <c>sse</c>.</summary>
    public string Transport { get; set; } = "signalr";

    /// <summary>Connect clients through Web (YARP) instead of straight to the streamer replicas.</summary>
    public bool ThroughWeb { get; set; }

    /// <summary><c>--env K=V</c> pairs passed to every service (Api, Streamer, Web) and, for <c>SimulatedModel__*</c>, the baseline.</summary>
    public List<KeyValuePair<string, string>> Environment { get; } = [];

    /// <summary>Where to write the JSON results; default <c>bench-results/{scenario}-{UTC timestamp}.json</c>.</summary>
    public string? JsonPath { get; set; }

    /// <summary>Small, exactness-only run for CI (exit code 1 when anything was lost, duplicated or differs).</summary>
    public bool Smoke { get; set; }

    /// <summary>
    /// Build configuration of the services Aspire launches: the AppHost's (<c>dotnet run --no-build --configuration</c>
    /// with the configuration the AppHost assembly was built in), which is the Bench's own, since the Bench builds the
    /// AppHost and the services (Release under <c>dotnet run -c Release --project Bench</c>).
    /// </summary>
    public string Configuration { get; } =
        typeof(AppHost.LocalServers.LocalRedis).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "unknown";

    /// <summary>Baseline server only: the address to listen on.</summary>
    public string? Urls { get; set; }

    /// <summary>G for this scenario.</summary>
    public int GenerationsOr(int fallback) => Generations ?? fallback;

    /// <summary>S for this scenario.</summary>
    public int SubscribersOr(int fallback) => Subscribers ?? fallback;

    /// <summary>Parses the command line.</summary>
    /// <exception cref="ArgumentException">Unknown scenario or option, or a malformed value; the message says which.</exception>
    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        var i = 0;
        string Next(string name) => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.");
        var scenarioSet = false;
        for (; i < args.Length; i++)
        {
            var a = args[i];
            switch (a)
            {
                case "--generations" or "-g": o.Generations = PositiveInt(a, Next(a)); break;
                case "--subscribers" or "-s": o.Subscribers = PositiveInt(a, Next(a)); break;
                case "--tokens-per-second" or "-r": o.TokensPerSecond = double.Parse(Next(a), CultureInfo.InvariantCulture); break;
                case "--api-replicas": o.ApiReplicas = int.Parse(Next(a), CultureInfo.InvariantCulture); break;
                case "--ttft": o.ModelTimeToFirstToken = ParseDuration(Next(a)); break;
                case "--min-tokens": o.MinTokens = PositiveInt(a, Next(a)); break;
                case "--max-tokens": o.MaxTokens = PositiveInt(a, Next(a)); break;
                case "--duration" or "-d": o.Duration = ParseDuration(Next(a)); o.DurationGiven = true; break;
                case "--warmup": o.Warmup = ParseDuration(Next(a)); break;
                case "--connections" or "-n": o.Connections = PositiveInt(a, Next(a)); break;
                case "--slow" or "-k": o.Slow = PositiveInt(a, Next(a)); break;
                case "--protocol": o.Protocol = OneOf(a, Next(a), "json", "messagepack"); break;
                case "--transport": o.Transport = OneOf(a, Next(a), "signalr", "sse"); break;
                case "--through-web": o.ThroughWeb = true; break;
                case "--env" or "-e":
                    var pair = Next(a);
                    var eq = pair.IndexOf('=', StringComparison.Ordinal);
                    if (eq <= 0)
                    {
                        throw new ArgumentException($"--env expects KEY=VALUE, got '{pair}'.");
                    }
                    o.Environment.Add(new(pair[..eq], pair[(eq + 1)..]));
                    break;
                case "--json": o.JsonPath = Next(a); break;
                case "--smoke": o.Smoke = true; break;
                case "--urls": o.Urls = Next(a); break;
                default:
                    if (a.StartsWith('-') || scenarioSet)
                    {
                        throw new ArgumentException($"Unknown option '{a}'.");
                    }
                    o.Scenario = a;
                    scenarioSet = true;
                    break;
            }
        }
        if (o.Smoke && !scenarioSet)
        {
            o.Scenario = "smoke";
        }
        if (o.Scenario != "baseline-server" && !Scenarios.Contains(o.Scenario))
        {
            throw new ArgumentException($"Unknown scenario '{o.Scenario}'; expected one of {string.Join(", ", Scenarios)}.");
        }
        if (o.MinTokens > o.MaxTokens)
        {
            throw new ArgumentException("--min-tokens must not exceed --max-tokens.");
        }
        return o;
    }

    /// <summary>Parses <c>30s</c>, <c>500ms</c>, <c>2m</c>, <c>00:00:30</c> or plain seconds.</summary>
    /// <exception cref="ArgumentException">Not a duration.</exception>
    public static TimeSpan ParseDuration(string s)
    {
        var c = CultureInfo.InvariantCulture;
        if (s.EndsWith("ms", StringComparison.Ordinal) && double.TryParse(s[..^2], c, out var ms)) return TimeSpan.FromMilliseconds(ms);
        if (s.EndsWith('s') && double.TryParse(s[..^1], c, out var sec)) return TimeSpan.FromSeconds(sec);
        if (s.EndsWith('m') && double.TryParse(s[..^1], c, out var min)) return TimeSpan.FromMinutes(min);
        if (double.TryParse(s, c, out var plain)) return TimeSpan.FromSeconds(plain);
        if (TimeSpan.TryParse(s, c, out var ts)) return ts;
        throw new ArgumentException($"'{s}' is not a duration (e.g. 30s, 500ms, 2m).");
    }

    private static int PositiveInt(string name, string value) =>
        int.TryParse(value, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new ArgumentException($"{name} expects a positive integer, got '{value}'.");

    private static string OneOf(string name, string value, params string[] allowed) =>
        allowed.Contains(value) ? value : throw new ArgumentException($"{name} expects one of {string.Join("|", allowed)}, got '{value}'.");

    /// <summary>Usage text.</summary>
    public const string Usage = """
        Usage: dotnet run -c Release --project Bench -- <scenario> [options]
          scenarios: chat | fanout | connections | slow-readers | baseline | compare | speeds (compare at R = 40, then 100) | smoke (same as --smoke)
          --generations G        concurrent generations (chat 100, fanout 10, compare 100, slow-readers 20)
          --subscribers S        subscribers per generation (fanout 500, else 1)
          --tokens-per-second R  model pace per generation (40)
          --api-replicas N       Api replicas (1; the AppHost's default is 2)
          --ttft 200ms           the model's own time to first token
          --min-tokens/--max-tokens  reply length in tokens (60/220)
          --duration 30s --warmup 20s
          --connections N        connections scenario (10000)
          --slow K               slow-readers: K never-reading SSE + K never-reading WebSocket clients (50)
          --protocol json|messagepack   SignalR hub protocol (json)
          --transport signalr|sse       chat/fanout subscriber transport (signalr)
          --through-web          clients connect through Web (YARP) instead of straight to streamer replicas
          --env KEY=VALUE        passed to every service (repeatable), e.g. --env Generation__FlushEveryTokens=4
          --json PATH            results file (default bench-results/<scenario>-<timestamp>.json)
          --smoke                small exactness-only run (exit 1 on any loss, duplicate or text difference)
        """;
}
