using System.Collections.Concurrent;
using AiStreaming.Bench.Clients;
using AiStreaming.Bench.Measure;
using AiStreaming.Bench.Report;
using AiStreaming.Bench.Stack;

namespace AiStreaming.Bench.Scenarios;

/// <summary>
/// G conversations, each with S subscribers (subscribed live before the first message) and one driver that posts
/// messages back to back (the next when every subscriber has the previous one's terminal event) until the window ends.
/// Subscriber <c>i</c> (over all generations) connects to streamer replica <c>i % replicas</c>, or through Web.
/// </summary>
public sealed class GenerationLoad : IAsyncDisposable
{
    private static readonly TimeSpan MessageTimeout = TimeSpan.FromSeconds(60);

    private readonly BenchStack _stack;
    private readonly BenchOptions _options;
    private readonly ApiClient _api;
    private readonly Dictionary<Uri, HttpClient> _sseClients = [];
    private readonly List<Generation> _generations = [];
    private readonly CancellationTokenSource _stopPosting = new();

    /// <summary>Creates the load; nothing connects before <see cref="SetUpAsync"/>.</summary>
    public GenerationLoad(BenchStack stack, BenchOptions options, int generations, int subscribersPerGeneration)
    {
        _stack = stack;
        _options = options;
        _api = ApiClient.Create(stack.ApiUri(options.ThroughWeb));
        G = generations;
        S = subscribersPerGeneration;
    }

    /// <summary>Generations.</summary>
    public int G { get; }

    /// <summary>Subscribers per generation.</summary>
    public int S { get; }

    /// <summary>The measurement window.</summary>
    public MeasureWindow Window { get; } = new();

    /// <summary>Conversations created (id, channel), by generation.</summary>
    public IReadOnlyList<(Guid Id, string Channel)> Conversations => [.. _generations.Select(g => (g.ConversationId, g.Channel))];

    /// <summary>Messages posted per conversation id, in order.</summary>
    public IReadOnlyList<Guid> MessagesOf(int generation) => [.. _generations[generation].Posted];

    /// <summary>Every subscriber.</summary>
    public IEnumerable<ISubscriber> Subscribers => _generations.SelectMany(g => g.Subscribers);

    /// <summary>Creates the conversations and connects and subscribes every subscriber (at most 64 connecting at once).</summary>
    public async Task SetUpAsync(Func<int, string, SubscriberTally, ISubscriber>? factory, CancellationToken cancellationToken)
    {
        using var gate = new SemaphoreSlim(16);
        var created = await Task.WhenAll(Enumerable.Range(0, G).Select(async _ =>
        {
            await gate.WaitAsync(cancellationToken);
            try { return await _api.CreateConversationAsync(cancellationToken); }
            finally { gate.Release(); }
        }));
        for (var g = 0; g < G; g++)
        {
            var generation = new Generation(created[g].Id, created[g].Channel, S);
            for (var s = 0; s < S; s++)
            {
                var tally = new SubscriberTally(Window, generation.OnTerminal);
                var index = g * S + s;
                generation.Subscribers.Add(factory?.Invoke(index, generation.Channel, tally) ?? CreateSubscriber(index, generation.Channel, tally));
            }
            _generations.Add(generation);
        }
        using var connecting = new SemaphoreSlim(64);
        await Task.WhenAll(Subscribers.Select(async s =>
        {
            await connecting.WaitAsync(cancellationToken);
            try { await s.StartAsync(cancellationToken); }
            finally { connecting.Release(); }
        }));
    }

    /// <summary>A subscriber of the configured transport for global index <paramref name="index"/>.</summary>
    public ISubscriber CreateSubscriber(int index, string channel, SubscriberTally tally)
    {
        var uri = _stack.SubscriberUri(index, _options.ThroughWeb);
        if (_options.Transport == "sse")
        {
            if (!_sseClients.TryGetValue(uri, out var http))
            {
                _sseClients[uri] = http = SseSubscriber.CreateHttpClient(uri);
            }
            return new SseSubscriber(http, channel, tally);
        }
        return new HubSubscriber(uri, channel, _options.Protocol, tally);
    }

    /// <summary>Starts every driver; they post until <see cref="StopPostingAsync"/>.</summary>
    public void StartDrivers() => _drivers = [.. _generations.Select(g => Task.Run(() => DriveAsync(g)))];

    private Task[] _drivers = [];

    /// <summary>Driver failures (POST errors) and messages whose terminal event did not reach every subscriber in time.</summary>
    public int DriverErrors => _generations.Sum(g => g.Errors);

    /// <summary>Lets each driver finish its current message, then waits for all (each bounded by the message timeout).</summary>
    public async Task StopPostingAsync()
    {
        await _stopPosting.CancelAsync();
        await Task.WhenAll(_drivers);
    }

    private async Task DriveAsync(Generation g)
    {
        var n = 0;
        while (!_stopPosting.IsCancellationRequested)
        {
            try
            {
                var sent = Clock.NowUs;
                var id = await _api.PostMessageAsync(g.ConversationId, $"bench message {++n}", CancellationToken.None);
                g.PostedAtUs[id] = sent;
                g.AcceptedAtUs[id] = Clock.NowUs;
                g.Posted.Enqueue(id);
                await g.Waiter(id).Task.WaitAsync(MessageTimeout);
            }
            catch (Exception ex) when (ex is TimeoutException or HttpRequestException or TaskCanceledException)
            {
                g.Errors++;
                g.ErrorMessages.Enqueue($"{ex.GetType().Name}: {ex.Message}");
                Console.Error.WriteLine($"  driver {g.Channel}: {ex.Message}");
                await Task.Delay(200);
            }
        }
    }

    /// <summary>Fills the delivery, latency, TTFT and exactness figures of <paramref name="result"/> from every subscriber.</summary>
    public void Collect(RunResult result)
    {
        var tallies = Subscribers.Select(s => s.Tally).ToList();
        var ttft = new LatencyRecorder();
        var post = new LatencyRecorder();
        var completionLag = new LatencyRecorder();
        var modelTtftUs = (long)_options.ModelTimeToFirstToken.TotalMicroseconds;
        foreach (var g in _generations)
        {
            var first = g.Subscribers[0].Tally;
            foreach (var id in g.Posted)
            {
                if (first.Messages.TryGetValue(id, out var m))
                {
                    result.OfferedTokens += SubscriberTally.CountStampsIn(m.Final, Window);
                }
                var sent = g.PostedAtUs[id];
                if (!Window.Contains(sent))
                {
                    continue;
                }
                post.Record(g.AcceptedAtUs.GetValueOrDefault(id) - sent);
                foreach (var s in g.Subscribers)
                {
                    if (s.Tally.Messages.TryGetValue(id, out var sm) && sm.FirstDeltaUs > 0)
                    {
                        ttft.Record(sm.FirstDeltaUs - sent - modelTtftUs);
                        if (sm.TerminalUs > 0)
                        {
                            completionLag.Record(sm.TerminalUs - sm.LastDeltaUs);
                        }
                    }
                }
            }
            result.Messages += g.Posted.Count;
            // A message the driver posted that a subscriber never saw end is incomplete too.
            result.IncompleteMessages += g.Subscribers.Sum(s => g.Posted.Count(id => !s.Tally.Messages.TryGetValue(id, out var sm) || sm.Final is null));
        }
        result.OfferedDeliveries = result.OfferedTokens * S;
        result.Subscribers = tallies.Count;
        result.DeliveredTokens = tallies.Sum(t => t.DeliveredTokens);
        result.DeltaFrames = tallies.Sum(t => t.DeltaFrames);
        result.CoalescedFrames = tallies.Sum(t => t.CoalescedFrames);
        result.PresenceFrames = tallies.Sum(t => t.PresenceFrames);
        result.LostOffsets = tallies.Sum(t => t.LostOffsets);
        result.DuplicatedOffsets = tallies.Sum(t => t.DuplicatedOffsets);
        result.EpochMismatches = tallies.Sum(t => t.EpochMismatches);
        result.TextMismatches = tallies.Sum(t => t.TextMismatches);
        result.Resubscribes = tallies.Sum(t => t.Subscriptions - 1);
        result.Unrecovered = tallies.Sum(t => t.Unrecovered);
        result.Latency = LatencyRecorder.Merge(tallies.Select(t => t.Latency)).Summary();
        result.TtftAdded = ttft.Summary();
        result.WindowSeconds = Window.Seconds;
        var reasons = tallies.SelectMany(t => t.ResubscribeReasons).GroupBy(kv => kv.Key).ToDictionary(x => x.Key, x => x.Sum(kv => kv.Value));
        if (reasons.Count > 0)
        {
            result.Extra["resubscribe reasons"] = string.Join(", ", reasons.Select(kv => $"{kv.Key}={kv.Value}"));
        }
        // Where a driver's cycle goes besides the model: the POST itself, 409 retries, and the wait for message.completed.
        var p = post.Summary();
        var c = completionLag.Summary();
        result.Extra["POST to 202 ms p50/p99"] = $"{p.P50Ms:0.0} / {p.P99Ms:0.0}";
        result.Extra["409 retries"] = _api.Conflicts;
        result.Extra["last delta to completed ms p50/p99"] = $"{c.P50Ms:0.0} / {c.P99Ms:0.0}";
        if (DriverErrors > 0)
        {
            result.Extra["driver errors"] = DriverErrors;
            result.Extra["driver error messages"] = string.Join(" | ", _generations.SelectMany(x => x.ErrorMessages).Distinct().Take(5));
            result.IncompleteMessages += DriverErrors;
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        using var gate = new SemaphoreSlim(128);
        await Task.WhenAll(Subscribers.Select(async s =>
        {
            await gate.WaitAsync();
            try { await s.DisposeAsync(); }
            finally { gate.Release(); }
        }));
        foreach (var http in _sseClients.Values)
        {
            http.Dispose();
        }
        _stopPosting.Dispose();
    }

    private sealed class Generation(Guid conversationId, string channel, int subscribers)
    {
        private readonly ConcurrentDictionary<Guid, (StrongBoxInt Count, TaskCompletionSource Done)> _waiters = new();

        public Guid ConversationId { get; } = conversationId;
        public string Channel { get; } = channel;
        public List<ISubscriber> Subscribers { get; } = [];
        public ConcurrentQueue<Guid> Posted { get; } = new();
        public ConcurrentDictionary<Guid, long> PostedAtUs { get; } = new();
        public ConcurrentDictionary<Guid, long> AcceptedAtUs { get; } = new();
        public int Errors { get; set; }
        public ConcurrentQueue<string> ErrorMessages { get; } = new();

        public TaskCompletionSource Waiter(Guid id) =>
            _waiters.GetOrAdd(id, _ => (new StrongBoxInt(), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously))).Done;

        public void OnTerminal(Guid id)
        {
            var w = _waiters.GetOrAdd(id, _ => (new StrongBoxInt(), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)));
            if (Interlocked.Increment(ref w.Count.Value) >= subscribers)
            {
                w.Done.TrySetResult();
            }
        }
    }

    private sealed class StrongBoxInt
    {
        public int Value;
    }
}
