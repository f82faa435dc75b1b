using AiStreaming.Api.Generation;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.SemanticKernel.ChatCompletion;

namespace AiStreaming.Tests.Api.Generation;

/// <summary>The built-in simulated model (<see cref="SimulatedChatCompletionService"/>, <see cref="SimulatedReply"/>).</summary>
public class SimulatedModelTests
{
    // Bounds each wait for a token that is already due (its delay fired on the fake clock); not a measurement.
    private static readonly TimeSpan Due = TimeSpan.FromSeconds(10);

    private static SimulatedChatCompletionService Model(
        int? seed = 7, double tokensPerSecond = 1_000_000, TimeSpan? timeToFirstToken = null, int minTokens = 60, int maxTokens = 220,
        TimeProvider? time = null) =>
        new(Options.Create(new SimulatedModelOptions
        {
            Seed = seed,
            TokensPerSecond = tokensPerSecond,
            TimeToFirstToken = timeToFirstToken ?? TimeSpan.Zero,
            MinTokens = minTokens,
            MaxTokens = maxTokens,
        }), time);

    private static ChatHistory Prompt(string prompt)
    {
        var history = new ChatHistory();
        history.AddSystemMessage("You are a helpful assistant.");
        history.AddUserMessage(prompt);
        return history;
    }

    private static async Task<List<string>> StreamAsync(SimulatedChatCompletionService model, string prompt, CancellationToken cancellationToken = default)
    {
        var chunks = new List<string>();
        await foreach (var chunk in model.GetStreamingChatMessageContentsAsync(Prompt(prompt), cancellationToken: cancellationToken))
        {
            chunks.Add(chunk.Content!);
        }
        return chunks;
    }

    [Fact]
    public async Task With_a_seed_the_same_prompt_always_gets_the_same_reply()
    {
        var first = await StreamAsync(Model(seed: 42), "How does PostgreSQL handle concurrent writes?");
        var second = await StreamAsync(Model(seed: 42), "How does PostgreSQL handle concurrent writes?");

        Assert.Equal(first, second);
    }

    [Fact]
    public async Task With_a_seed_different_prompts_or_seeds_get_different_replies()
    {
        var reply = string.Concat(await StreamAsync(Model(seed: 42), "How does PostgreSQL handle concurrent writes?"));
        var otherPrompt = string.Concat(await StreamAsync(Model(seed: 42), "Why is Redis single threaded?"));
        var otherSeed = string.Concat(await StreamAsync(Model(seed: 43), "How does PostgreSQL handle concurrent writes?"));

        Assert.NotEqual(reply, otherPrompt);
        Assert.NotEqual(reply, otherSeed);
    }

    [Fact]
    public async Task Without_a_seed_replies_vary()
    {
        var replies = new HashSet<string>();
        for (var i = 0; i < 3; i++)
        {
            replies.Add(string.Concat(await StreamAsync(Model(seed: null), "Tell me about streaming")));
        }

        Assert.True(replies.Count > 1);
    }

    [Fact]
    public async Task Streamed_tokens_concatenate_to_the_full_reply()
    {
        var model = Model(seed: 3);
        var prompt = "Explain backpressure in SignalR streams";

        var chunks = await StreamAsync(model, prompt);
        var whole = await model.GetChatMessageContentsAsync(Prompt(prompt));

        Assert.All(chunks, chunk => Assert.False(string.IsNullOrEmpty(chunk)));
        Assert.Equal(Assert.Single(whole).Content, string.Concat(chunks));
        Assert.Equal(AuthorRole.Assistant, whole[0].Role);
        Assert.All(chunks, chunk => Assert.Single(SimulatedReply.Tokenize(chunk))); // one token per chunk
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 3)]
    [InlineData(12, 30)]
    [InlineData(60, 220)]
    [InlineData(500, 500)]
    public void A_reply_has_between_MinTokens_and_MaxTokens_tokens(int minTokens, int maxTokens)
    {
        string[] prompts = ["", "hi", "How does PostgreSQL handle concurrent writes?", "Explain Kestrel, YARP and SignalR together in detail", "???"];
        for (var seed = 0; seed < 200; seed++)
        {
            var tokens = SimulatedReply.Compose(prompts[seed % prompts.Length], new Random(seed), minTokens, maxTokens);

            Assert.InRange(tokens.Count, minTokens, maxTokens);
            Assert.All(tokens, token => Assert.False(string.IsNullOrEmpty(token)));
        }
    }

    [Theory]
    [InlineData("Hello, world!")]
    [InlineData("## Heading\n\n- **bold**: item\n1. step\n```csharp\nvar x = 1;\n```")]
    [InlineData("tabs\tand  double  spaces, ünïcödé, emoji 🚀 and 'quotes' — done.")]
    [InlineData("")]
    public void Tokenize_splits_text_into_tokens_that_concatenate_back_to_it(string text)
    {
        var tokens = SimulatedReply.Tokenize(text);

        Assert.Equal(text, string.Concat(tokens));
        Assert.All(tokens, token => Assert.NotEmpty(token));
    }

    [Fact]
    public async Task Each_token_comes_no_sooner_than_the_time_to_first_token_then_one_per_token_interval()
    {
        var time = new FakeTimeProvider();
        var model = Model(tokensPerSecond: 100, timeToFirstToken: TimeSpan.FromMilliseconds(100), minTokens: 3, maxTokens: 3, time: time);
        await using var stream = model.GetStreamingChatMessageContentsAsync(Prompt("pace")).GetAsyncEnumerator();

        // The first token is due 100 ms after the start, each next one 10 ms after the one before (100 tokens/s).
        foreach (var (before, dueAt) in new[] { (TimeSpan.FromMilliseconds(99), TimeSpan.FromMilliseconds(1)), (TimeSpan.FromMilliseconds(9), TimeSpan.FromMilliseconds(1)), (TimeSpan.FromMilliseconds(9), TimeSpan.FromMilliseconds(1)) })
        {
            var next = stream.MoveNextAsync();
            time.Advance(before);
            Assert.False(next.IsCompleted);
            time.Advance(dueAt);
            Assert.True(await next.AsTask().WaitAsync(Due));
        }

        Assert.False(await stream.MoveNextAsync());
    }

    [Fact]
    public async Task Cancelling_before_the_first_token_throws_OperationCanceledException_without_waiting_for_it()
    {
        var time = new FakeTimeProvider();
        var model = Model(timeToFirstToken: TimeSpan.FromMinutes(1), time: time);
        using var cts = new CancellationTokenSource();
        var streaming = StreamAsync(model, "slow start", cts.Token);
        Assert.False(streaming.IsCompleted);

        await cts.CancelAsync();

        // The fake clock never moves: only the cancellation can end the wait.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => streaming.WaitAsync(Due));
    }

    [Fact]
    public async Task Cancelling_between_tokens_throws_OperationCanceledException_without_waiting_for_the_next()
    {
        var time = new FakeTimeProvider();
        var model = Model(tokensPerSecond: 0.1, time: time); // the second token is due 10 s after the first
        using var cts = new CancellationTokenSource();
        await using var stream = model.GetStreamingChatMessageContentsAsync(Prompt("slow tokens"), cancellationToken: cts.Token).GetAsyncEnumerator();
        Assert.True(await stream.MoveNextAsync());
        var next = stream.MoveNextAsync().AsTask();
        Assert.False(next.IsCompleted);

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next.WaitAsync(Due));
    }

    [Fact]
    public async Task An_already_cancelled_token_yields_no_token()
    {
        var model = Model();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        var received = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in model.GetStreamingChatMessageContentsAsync(Prompt("never"), cancellationToken: cts.Token))
            {
                received++;
            }
        });
        Assert.Equal(0, received);
    }
}
