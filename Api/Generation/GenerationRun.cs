using AiStreaming.Channels;

namespace AiStreaming.Api.Generation;

/// <summary>
/// One run of a message's generation: the one that began it (<see cref="Number"/> 0) or a takeover (1, 2, … after its
/// owner died). The run is the fence of everything it writes: PostgreSQL writes match <c>owner_id =</c>
/// <see cref="OwnerId"/>, and publishes carry <see cref="Fence"/>, so a run that was taken over can do neither.
/// </summary>
/// <param name="OwnerId">
/// <c>messages.owner_id</c> while this run owns the message: the instance id (<see cref="ApiInstance.Id"/>) for run 0,
/// <c>{instance id}#{number}</c> for a takeover, so that even a takeover by the same process fences the earlier run.
/// </param>
/// <param name="MessageId">The assistant message.</param>
/// <param name="Number">0 for the run that began the message, n for its n-th takeover (<c>messages.takeovers</c>).</param>
public sealed record GenerationRun(string OwnerId, Guid MessageId, int Number)
{
    /// <summary>The publish fence of this run.</summary>
    public PublishFence Fence => new(MessageId, Number);

    /// <summary>The run that begins a message on <paramref name="instance"/>.</summary>
    /// <param name="instance">This process.</param>
    /// <param name="messageId">The assistant message.</param>
    public static GenerationRun First(ApiInstance instance, Guid messageId) => new(instance.Id, messageId, 0);

    /// <summary>The owner id of the <paramref name="number"/>-th takeover by <paramref name="instance"/>.</summary>
    /// <param name="instance">The claiming process.</param>
    /// <param name="number">The takeover's number (≥ 1).</param>
    public static string TakeoverOwnerId(ApiInstance instance, int number) => $"{instance.Id}#{number}";
}
