using AiStreaming.Channels;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AiStreaming.Api.Generation;

/// <summary>
/// The services every generation's output shares (publisher, history, Redis, metrics, clock, logger, and the process's
/// one <see cref="RollupTimer"/>); opens one <see cref="DeltaStream"/> per generation, which alone owns that generation's
/// publish state.
/// </summary>
/// <param name="publisher">Channel publisher.</param>
/// <param name="history">Channel history (resolves publishes of unknown outcome).</param>
/// <param name="redis">Redis connection (publishing is skipped at once while it is disconnected).</param>
/// <param name="metrics">Instruments.</param>
/// <param name="model">Model, for the metric tag.</param>
/// <param name="time">Clock.</param>
/// <param name="options">Generation options (<see cref="GenerationOptions.RollupWindow"/>).</param>
/// <param name="logger">Logger.</param>
public sealed class DeltaPublisher(
    ChannelPublisher publisher, ChannelHistory history, IConnectionMultiplexer redis, GenerationMetrics metrics,
    ChatModelInfo model, TimeProvider time, IOptions<GenerationOptions> options, ILogger<DeltaPublisher> logger) : IDisposable
{
    /// <summary>The process's one rollup timer.</summary>
    internal RollupTimer Rollup { get; } = new(time, options.Value.RollupWindow);

    internal ChannelPublisher Publisher => publisher;

    internal ChannelHistory History => history;

    internal IConnectionMultiplexer Redis => redis;

    internal GenerationMetrics Metrics => metrics;

    internal KeyValuePair<string, object?> ModelTag { get; } = new("gen_ai.request.model", model.ModelId);

    internal TimeProvider Time => time;

    internal ILogger Logger => logger;

    /// <summary>Opens the output of one generation.</summary>
    /// <param name="request">The generation.</param>
    /// <param name="buffer">Its text buffer (flush rule).</param>
    /// <param name="run">The run that publishes (its fence).</param>
    internal DeltaStream Open(GenerationRequest request, DeltaBuffer buffer, GenerationRun run) =>
        new(this, ChannelName.ForConversation(request.ConversationId), request.MessageId, buffer, run);

    /// <inheritdoc/>
    public void Dispose() => Rollup.Dispose();
}
