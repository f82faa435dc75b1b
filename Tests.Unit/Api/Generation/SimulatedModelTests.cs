using System.Diagnostics;
using AiStreaming.Api.Generation;
using Microsoft.Extensions.Options;
using Microsoft.SemanticKernel.ChatCompletion;

namespace AiStreaming.Tests.Api.Generation;

/// <summary>The built-in simulated model (<see cref="SimulatedChatCompletionService"/>, <see cref="SimulatedReply"/>).</summary>
public class SimulatedModelTests
{
    private static SimulatedChatCompletionService Model(
        int? seed = 7, double tokensPerSecond = 1_000_000, TimeSpan? timeToFirstToken = null, int minTokens = 60, int maxTokens = 220) =>
        new(Options.Create(new SimulatedModelOptions
        {
            Seed = seed,
            TokensPerSecond = tokensPerSecond,
            TimeToFirstToken = timeToFirstToken ?? TimeSpan.Zero,
            MinTokens = minTokens,
            MaxTokens = maxTokens,
        }));

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
    public async Task Streams_no_faster_than_the_time_to_first_token_and_token_rate()
    {
        var model = Model(tokensPerSecond: 100, timeToFirstToken: TimeSpan.FromMilliseconds(100), minTokens: 11, maxTokens: 11);
        var clock = Stopwatch.StartNew();

        var chunks = await StreamAsync(model, "pace");

        Assert.Equal(11, chunks.Count);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(195), $"took {clock.Elapsed.TotalMilliseconds} ms"); // 100 ms + 10 × 10 ms
    }

    [Fact]
    public async Task Cancelling_before_the_first_token_throws_OperationCanceledException_promptly()
    {
        var model = Model(timeToFirstToken: TimeSpan.FromMinutes(1));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var clock = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => StreamAsync(model, "slow start", cts.Token));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Cancelling_between_tokens_throws_OperationCanceledException_promptly()
    {
        var model = Model(tokensPerSecond: 0.1); // the second token is due 10 s after the first
        using var cts = new CancellationTokenSource();
        await using var stream = model.GetStreamingChatMessageContentsAsync(Prompt("slow tokens"), cancellationToken: cts.Token).GetAsyncEnumerator();
        Assert.True(await stream.MoveNextAsync());

        var next = stream.MoveNextAsync();
        var clock = Stopwatch.StartNew();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await next);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed.TotalMilliseconds} ms");
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
