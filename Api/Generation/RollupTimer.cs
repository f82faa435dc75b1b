namespace AiStreaming.Api.Generation;

/// <summary>
/// The one timer of an Api process that ends rollup windows (<see cref="GenerationOptions.RollupWindow"/>). A
/// generation whose pending text is not yet due waits on <see cref="WaitUntilAsync"/>; the timer is armed for the
/// earliest of those moments and, when it fires, wakes every waiter due within <c>slack</c> (an eighth of the window) in
/// one pass, so 500 replies cost one timer and at most one wake-up per slack interval instead of a timer per reply per
/// token. Waiters are woken on the timer's thread (each resumes its generation up to its next await: enqueueing a
/// publish). Thread-safe.
/// </summary>
public sealed class RollupTimer : IDisposable
{
    private readonly TimeProvider time;
    private readonly ITimer timer;
    private readonly long slackTicks;
    private readonly Lock gate = new();
    private readonly PriorityQueue<TaskCompletionSource, long> waiters = new();
    private long armedFor = long.MaxValue;

    /// <summary>Creates the timer, unarmed.</summary>
    /// <param name="time">Clock of the windows.</param>
    /// <param name="window">The rollup window (a wake-up may come up to an eighth of it early, to serve several waiters at once).</param>
    public RollupTimer(TimeProvider time, TimeSpan window)
    {
        this.time = time;
        slackTicks = (long)(window.TotalSeconds * time.TimestampFrequency / 8);
        timer = time.CreateTimer(static state => ((RollupTimer)state!).Fire(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// How early a waiter may be woken, in <see cref="TimeProvider.GetTimestamp"/> ticks (an eighth of the window): a
    /// moment within this of now counts as come (<see cref="DeltaStream.IsDue"/>).
    /// </summary>
    public long SlackTicks => slackTicks;

    /// <summary>Waiters not yet woken.</summary>
    public int Pending
    {
        get { lock (gate) { return waiters.Count; } }
    }

    /// <summary>A task that completes when <paramref name="due"/> has come (at once when it has already).</summary>
    /// <param name="due">A <see cref="TimeProvider.GetTimestamp"/> value.</param>
    public Task WaitUntilAsync(long due)
    {
        if (due <= time.GetTimestamp())
        {
            return Task.CompletedTask;
        }
        var waiter = new TaskCompletionSource();
        lock (gate)
        {
            waiters.Enqueue(waiter, due);
            if (due < armedFor)
            {
                Arm(due);
            }
        }
        return waiter.Task;
    }

    /// <inheritdoc/>
    public void Dispose() => timer.Dispose();

    private void Arm(long due)
    {
        armedFor = due;
        var now = time.GetTimestamp();
        timer.Change(due > now ? time.GetElapsedTime(now, due) : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    private void Fire()
    {
        List<TaskCompletionSource>? woken = null;
        lock (gate)
        {
            var limit = time.GetTimestamp() + slackTicks;
            while (waiters.TryPeek(out var waiter, out var due) && due <= limit)
            {
                waiters.Dequeue();
                (woken ??= []).Add(waiter);
            }
            armedFor = long.MaxValue;
            if (waiters.TryPeek(out _, out var next))
            {
                Arm(next);
            }
        }
        // Outside the lock: each completion runs its generation's continuation inline.
        if (woken is not null)
        {
            foreach (var waiter in woken)
            {
                waiter.TrySetResult();
            }
        }
    }
}
