using System.Diagnostics;
using AiStreaming.Channels;

namespace AiStreaming.Api.Generation;

/// <summary>Why a generation was stopped from outside its model stream.</summary>
internal enum StopReason
{
    /// <summary>Not stopped.</summary>
    None,

    /// <summary>A user asked to cancel (POST cancel, here or through <c>ais:control:cancel</c>).</summary>
    Cancelled,

    /// <summary>The Api is shutting down and the drain timeout elapsed.</summary>
    Shutdown,

    /// <summary>This run no longer owns the message (another run took it over after its lease lapsed): write nothing.</summary>
    Lost,

    /// <summary>Nobody watched the channel for <see cref="GenerationOptions.AbandonAfter"/>.</summary>
    Abandoned,

    /// <summary>The model stream ended and the generation is writing its end; later stops change nothing.</summary>
    Ended,
}

/// <summary>
/// Control state of one running generation: its request, channel, trace parent, output (the sole owner of its
/// publish state) and the cancellation sources whose linked token is handed to the model call (cancelling it aborts
/// the upstream HTTP request). The timeouts run on the injected <see cref="TimeProvider"/>.
/// </summary>
internal sealed class RunningGeneration : IDisposable
{
    private readonly CancellationTokenSource stop = new();
    private readonly CancellationTokenSource total;
    private readonly CancellationTokenSource wait;
    private readonly CancellationTokenSource model;
    private readonly TaskCompletionSource done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int stopReason;

    /// <summary>Creates the state; nothing runs yet.</summary>
    /// <param name="request">What to generate.</param>
    /// <param name="output">Where its events go (publish state, text).</param>
    /// <param name="parent">Trace context of the request that started it.</param>
    /// <param name="time">Clock of the timeouts.</param>
    public RunningGeneration(GenerationRequest request, DeltaStream output, ActivityContext parent, TimeProvider time)
    {
        Request = request;
        Output = output;
        Parent = parent;
        total = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        wait = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        model = CancellationTokenSource.CreateLinkedTokenSource(stop.Token, total.Token, wait.Token);
        // A refused publish means another process took the message over: stop without writing.
        output.OnFenced = () => Stop(StopReason.Lost);
    }

    /// <summary>What to generate.</summary>
    public GenerationRequest Request { get; }

    /// <summary>The assistant message.</summary>
    public Guid MessageId => Request.MessageId;

    /// <summary>The conversation's channel.</summary>
    public ChannelName Channel => Output.Channel;

    /// <summary>The generation's text and its delta publishing (the one owner of the publish state).</summary>
    public DeltaStream Output { get; }

    /// <summary>Trace context of the request that started the generation.</summary>
    public ActivityContext Parent { get; }

    /// <summary>Token passed to the model call: cancelled by <see cref="Stop"/>, the total timeout or the wait timeout.</summary>
    public CancellationToken ModelToken => model.Token;

    /// <summary>Completes when the generation has ended and written its outcome.</summary>
    public Task Completion => done.Task;

    /// <summary>Why the generation was stopped from outside (<see cref="StopReason.None"/> while it was not).</summary>
    public StopReason StoppedBy => (StopReason)Volatile.Read(ref stopReason);

    /// <summary>Stops the generation; the first reason wins.</summary>
    /// <param name="reason">Why.</param>
    /// <returns><see langword="true"/> if this call stopped it.</returns>
    public bool Stop(StopReason reason)
    {
        if (Interlocked.CompareExchange(ref stopReason, (int)reason, (int)StopReason.None) != (int)StopReason.None)
        {
            return false;
        }
        try
        {
            stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already finished.
        }
        return true;
    }

    /// <summary>Starts the total-timeout clock.</summary>
    /// <param name="timeout">Total timeout.</param>
    public void StartTotalTimer(TimeSpan timeout) => total.CancelAfter(timeout);

    /// <summary>Arms the wait timeout (first token or inactivity) before awaiting the next chunk.</summary>
    /// <param name="timeLeft">Time until the deadline (zero or less cancels at once).</param>
    public void ArmWait(TimeSpan timeLeft) => wait.CancelAfter(timeLeft > TimeSpan.Zero ? timeLeft : TimeSpan.Zero);

    /// <summary>Disarms the wait timeout after a chunk arrived.</summary>
    public void DisarmWait() => wait.CancelAfter(Timeout.InfiniteTimeSpan);

    /// <summary>
    /// The outcome of a generation whose <see cref="ModelToken"/> was cancelled, or <see langword="null"/> when the
    /// message is no longer ours (<see cref="StopReason.Lost"/>).
    /// </summary>
    /// <param name="options">Timeouts, for the messages.</param>
    /// <param name="gotTokens">Whether any token arrived (inactivity rather than first-token timeout).</param>
    public MessageOutcome? ResolveStop(GenerationOptions options, bool gotTokens) => StoppedBy switch
    {
        StopReason.Lost => null,
        StopReason.Cancelled => MessageOutcome.Cancelled,
        StopReason.Abandoned => MessageOutcome.Abandoned,
        StopReason.Shutdown => MessageOutcome.Failed(FailureCodes.GenerationLost, "The Api instance stopped before the generation finished."),
        _ when total.IsCancellationRequested => MessageOutcome.Failed(FailureCodes.TotalTimeout, $"The reply did not complete within {options.TotalTimeout}."),
        _ when gotTokens => MessageOutcome.Failed(FailureCodes.InactivityTimeout, $"The model sent nothing for {options.InactivityTimeout}."),
        _ => MessageOutcome.Failed(FailureCodes.FirstTokenTimeout, $"The model sent no first token within {options.FirstTokenTimeout}."),
    };

    /// <summary>Marks the generation finished.</summary>
    public void Complete() => done.TrySetResult();

    /// <inheritdoc/>
    public void Dispose()
    {
        model.Dispose();
        wait.Dispose();
        total.Dispose();
        stop.Dispose();
    }
}
