using System.Diagnostics;
using AiStreaming.Channels;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AiStreaming.Api.Generation;

/// <summary>
/// Starts generations, independent of the HTTP requests that start them: publishes <c>message.started</c>, stores
/// its position on the assistant message, registers the generation and runs its <see cref="GenerationLoop"/> in the
/// background. Who does the rest: <see cref="GenerationRegistry"/> (what runs here), <see cref="CancelRelay"/>
/// (cancel from any instance), <see cref="LeaseRenewer"/> and <see cref="LeaseSweeper"/> (ownership; the sweeper hands
/// expired ones to <see cref="GenerationTakeover"/>),
/// <see cref="GenerationLifetime"/> (drain), <see cref="GenerationFinisher"/> (terminal write).
/// </summary>
/// <param name="registry">Generations of this process.</param>
/// <param name="deltas">Opens each generation's output.</param>
/// <param name="loop">The model loop.</param>
/// <param name="store">Generation persistence.</param>
/// <param name="instance">This process (the owner of the generations it begins).</param>
/// <param name="metrics">Instruments.</param>
/// <param name="model">Model, for the metric tag.</param>
/// <param name="time">Clock.</param>
/// <param name="options">Generation options.</param>
/// <param name="logger">Logger.</param>
public sealed class GenerationRunner(
    GenerationRegistry registry, DeltaPublisher deltas, GenerationLoop loop, GenerationStore store, ApiInstance instance, GenerationMetrics metrics,
    ChatModelInfo model, TimeProvider time, IOptions<GenerationOptions> options, ILogger<GenerationRunner> logger)
{
    private readonly KeyValuePair<string, object?> modelTag = new("gen_ai.request.model", model.ModelId);

    /// <summary>
    /// Publishes <c>message.started</c>, stores its position on the assistant message, and starts the generation in
    /// the background. If Redis is unavailable the event is skipped (position <see langword="null"/>) and the
    /// generation still runs.
    /// </summary>
    /// <param name="request">The stored exchange (assistant message <c>streaming</c>, owned by this instance).</param>
    /// <returns>The position of <c>message.started</c>, or <see langword="null"/> when it could not be published.</returns>
    public async Task<ChannelPosition?> BeginAsync(GenerationRequest request)
    {
        var settings = options.Value;
        var output = deltas.Open(
            request, new DeltaBuffer(settings.FlushEveryTokens, settings.RollupWindow, time), GenerationRun.First(instance, request.MessageId));
        var generation = new RunningGeneration(request, output, Activity.Current?.Context ?? default, time);
        // Registered before message.started goes out: a cancel that follows the event finds the generation.
        registry.Add(generation);
        ChannelPosition? position = null;
        try
        {
            position = await output.PublishStartedAsync(request);
            await store.SetStartPositionAsync(request.MessageId, position.Value, CancellationToken.None);
        }
        catch (Exception ex) when (RedisFaults.IsUnavailable(ex))
        {
            logger.StartedNotPublished(request.MessageId, ex.Message);
        }
        catch (NpgsqlException ex)
        {
            logger.StartPositionNotStored(request.MessageId, ex.Message);
        }

        metrics.Queued.Add(1, modelTag);
        _ = Task.Run(() => loop.RunAsync(generation));
        return position;
    }
}
