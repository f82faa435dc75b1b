using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Text;
using System.Text.Json;
using AiStreaming.Api.Generation;
using AiStreaming.Channels;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;
using Microsoft.SemanticKernel.Connectors.OpenAI;
using OpenAI;

namespace AiStreaming.Tests.Api.Generation;

/// <summary>
/// What a takeover rebuilds and how the model continues: the text streamed so far from a channel's history
/// (<see cref="StreamedText"/>), the simulated model's continuation on a fake clock, and the continuation of an
/// OpenAI-compatible model against a fake upstream.
/// </summary>
public class TakeoverTests
{
    private static readonly Guid Message = Guid.NewGuid();

    private static ChannelEvent Event(long offset, string type, Guid? messageId = null, string? text = null, string epoch = "e1") => new()
    {
        Channel = "conv:x",
        Offset = offset,
        Epoch = epoch,
        Type = type,
        MessageId = messageId ?? Message,
        Data = text is null ? ChannelEvent.ToData(new { }) : ChannelEvent.DeltaData(text),
    };

    private static HistorySnapshot Snapshot(long top, params ChannelEvent[] events) => new("e1", top, events);

    [Fact]
    public void The_streamed_text_is_the_replys_deltas_in_offset_order_skipping_status_events()
    {
        var snapshot = Snapshot(6,
            Event(3, ChannelEventTypes.MessageStarted),
            Event(4, ChannelEventTypes.Delta, text: "Hello"),
            Event(5, ChannelEventTypes.MessageResumed),
            Event(6, ChannelEventTypes.Delta, text: ", world"));

        Assert.Equal("Hello, world", StreamedText.Rebuild(snapshot, Message, "e1", 3));
    }

    [Fact]
    public void A_reply_killed_before_its_first_delta_has_empty_streamed_text()
    {
        Assert.Equal("", StreamedText.Rebuild(Snapshot(1, Event(1, ChannelEventTypes.MessageStarted)), Message, "e1", 1));
    }

    [Fact]
    public void History_that_does_not_prove_the_whole_reply_gives_no_text()
    {
        var started = Event(3, ChannelEventTypes.MessageStarted);
        // Trimmed: message.started is gone.
        Assert.Null(StreamedText.Rebuild(Snapshot(5, Event(4, ChannelEventTypes.Delta, text: "a"), Event(5, ChannelEventTypes.Delta, text: "b")), Message, "e1", 3));
        // A hole.
        Assert.Null(StreamedText.Rebuild(Snapshot(5, started, Event(5, ChannelEventTypes.Delta, text: "b")), Message, "e1", 3));
        // Events missing at the top.
        Assert.Null(StreamedText.Rebuild(Snapshot(6, started, Event(4, ChannelEventTypes.Delta, text: "a")), Message, "e1", 3));
        // Another epoch (Redis lost the channel).
        Assert.Null(StreamedText.Rebuild(new HistorySnapshot("e2", 3, [Event(3, ChannelEventTypes.MessageStarted, epoch: "e2")]), Message, "e1", 3));
        // Another message's start at that offset.
        Assert.Null(StreamedText.Rebuild(Snapshot(3, Event(3, ChannelEventTypes.MessageStarted, Guid.NewGuid())), Message, "e1", 3));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(37)]
    [InlineData(200)]
    public async Task The_simulated_model_continues_its_reply_from_any_character_on_the_fake_clock(int cut)
    {
        var time = new FakeTimeProvider();
        var model = new SimulatedChatCompletionService(Options.Create(new SimulatedModelOptions
        {
            TokensPerSecond = 100, TimeToFirstToken = TimeSpan.FromMilliseconds(300), MinTokens = 80, MaxTokens = 80,
        }), time);
        var history = new ChatHistory();
        history.AddUserMessage("How does a takeover continue a reply?");
        var settings = new OpenAIPromptExecutionSettings { Seed = SimulatedChatCompletionService.SeedFor(Message) };
        var whole = await DrainAsync(model.GetStreamingChatMessageContentsAsync(history, settings), time);
        Assert.True(whole.Length > cut);

        var continuation = model.ContinueAsync(new ReplyContinuationContext(Message, history, whole[..cut]), settings, new Kernel(), CancellationToken.None);
        await using var chunks = continuation.GetAsyncEnumerator();
        var first = chunks.MoveNextAsync().AsTask();
        // Paced as a new reply: nothing before the time to first token.
        time.Advance(TimeSpan.FromMilliseconds(299));
        await Task.Yield();
        Assert.False(first.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await first.WaitAsync(TimeSpan.FromSeconds(10)));
        var rest = new StringBuilder(chunks.Current.Content);
        while (await Next(chunks, time))
        {
            rest.Append(chunks.Current.Content);
        }

        Assert.Equal(whole, whole[..cut] + rest);
    }

    [Fact]
    public async Task A_simulated_reply_already_complete_continues_with_nothing()
    {
        var time = new FakeTimeProvider();
        var model = new SimulatedChatCompletionService(Options.Create(new SimulatedModelOptions { TokensPerSecond = 1000, TimeToFirstToken = TimeSpan.Zero, MinTokens = 10, MaxTokens = 10 }), time);
        var history = new ChatHistory();
        history.AddUserMessage("Short");
        var settings = new OpenAIPromptExecutionSettings { Seed = 5 };
        var whole = await DrainAsync(model.GetStreamingChatMessageContentsAsync(history, settings), time);

        Assert.Equal("", await DrainAsync(model.ContinueAsync(new ReplyContinuationContext(Message, history, whole), settings, new Kernel(), CancellationToken.None), time));
    }

    [Fact]
    public async Task An_openai_compatible_model_is_asked_again_with_the_partial_reply_as_the_assistants_and_an_instruction_to_go_on()
    {
        var upstream = new FakeOpenAiUpstream(" and this is", " how it ends.");
        // As ChatModelRegistration builds it, with the fake upstream as the transport.
        var chat = new OpenAIChatCompletionService("gpt-test", new OpenAIClient(new ApiKeyCredential("key"), new OpenAIClientOptions
        {
            Endpoint = new Uri("http://upstream.test/v1"),
            Transport = new HttpClientPipelineTransport(new HttpClient(upstream)),
        }));
        var continuation = new ChatReplyContinuation(chat);
        var history = new ChatHistory();
        history.AddSystemMessage("You are a helpful assistant.");
        history.AddUserMessage("Tell me how it ends");

        var text = new StringBuilder();
        await foreach (var chunk in continuation.ContinueAsync(
            new ReplyContinuationContext(Message, history, "This is where it stopped"), new OpenAIPromptExecutionSettings(), new Kernel(), CancellationToken.None))
        {
            text.Append(chunk.Content);
        }

        Assert.Equal(" and this is how it ends.", text.ToString());
        var request = Assert.Single(upstream.Requests);
        Assert.True(request.GetProperty("stream").GetBoolean());
        var messages = request.GetProperty("messages").EnumerateArray()
            .Select(m => (Role: m.GetProperty("role").GetString(), Content: ContentOf(m))).ToList();
        Assert.Equal(
            [("system", "You are a helpful assistant."), ("user", "Tell me how it ends"), ("assistant", "This is where it stopped"), ("system", ChatReplyContinuation.Instruction)],
            messages);
        // The caller's history is left as it was.
        Assert.Equal(2, history.Count);
    }

    private static string? ContentOf(JsonElement message) => message.GetProperty("content") switch
    {
        { ValueKind: JsonValueKind.String } s => s.GetString(),
        { ValueKind: JsonValueKind.Array } parts => string.Concat(parts.EnumerateArray().Select(p => p.GetProperty("text").GetString())),
        _ => null,
    };

    private static async Task<string> DrainAsync(IAsyncEnumerable<StreamingChatMessageContent> stream, FakeTimeProvider time)
    {
        var text = new StringBuilder();
        await using var chunks = stream.GetAsyncEnumerator();
        while (await Next(chunks, time))
        {
            text.Append(chunks.Current.Content);
        }
        return text.ToString();
    }

    // Moves to the next chunk, advancing the fake clock while the model waits for its next token's time.
    private static async Task<bool> Next(IAsyncEnumerator<StreamingChatMessageContent> chunks, FakeTimeProvider time)
    {
        var next = chunks.MoveNextAsync().AsTask();
        for (var i = 0; i < 10_000 && !next.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(5));
            await Task.Yield();
        }
        return await next.WaitAsync(TimeSpan.FromSeconds(10));
    }

    /// <summary>An OpenAI-compatible server's <c>/chat/completions</c> that streams the given chunks and records each request body.</summary>
    private sealed class FakeOpenAiUpstream(params string[] chunks) : HttpMessageHandler
    {
        public List<JsonElement> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Assert.EndsWith("/chat/completions", request.RequestUri!.AbsolutePath);
            Requests.Add(JsonDocument.Parse(await request.Content!.ReadAsStringAsync(cancellationToken)).RootElement.Clone());
            var body = new StringBuilder();
            foreach (var chunk in chunks)
            {
                var json = JsonSerializer.Serialize(new
                {
                    id = "c1", @object = "chat.completion.chunk", created = 1, model = "gpt-test",
                    choices = new[] { new { index = 0, delta = new { role = "assistant", content = chunk }, finish_reason = (string?)null } },
                });
                body.Append("data: ").Append(json).Append("\n\n");
            }
            body.Append("data: [DONE]\n\n");
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body.ToString(), Encoding.UTF8, "text/event-stream") };
        }
    }
}
