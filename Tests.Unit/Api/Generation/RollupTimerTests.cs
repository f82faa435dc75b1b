using AiStreaming.Api.Generation;
using Microsoft.Extensions.Time.Testing;

namespace AiStreaming.Tests.Api.Generation;

/// <summary><see cref="RollupTimer"/>: one timer wakes every reply whose window ended, on the injected clock.</summary>
public class RollupTimerTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(40);

    private static long After(FakeTimeProvider time, double ms) =>
        time.GetTimestamp() + (long)(ms * time.TimestampFrequency / 1000);

    [Fact]
    public void A_waiter_is_woken_when_its_moment_comes_and_not_before()
    {
        var time = new FakeTimeProvider();
        using var timer = new RollupTimer(time, Window);

        var wait = timer.WaitUntilAsync(After(time, 40));
        time.Advance(TimeSpan.FromMilliseconds(30));
        Assert.False(wait.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(10));

        Assert.True(wait.IsCompletedSuccessfully);
        Assert.Equal(0, timer.Pending);
    }

    [Fact]
    public void A_moment_already_past_completes_at_once()
    {
        var time = new FakeTimeProvider();
        using var timer = new RollupTimer(time, Window);

        Assert.True(timer.WaitUntilAsync(time.GetTimestamp()).IsCompletedSuccessfully);
        Assert.Equal(0, timer.Pending);
    }

    [Fact]
    public void Waiters_are_woken_in_order_of_their_moments_whatever_the_order_they_came_in()
    {
        var time = new FakeTimeProvider();
        using var timer = new RollupTimer(time, Window);

        var late = timer.WaitUntilAsync(After(time, 40));
        var early = timer.WaitUntilAsync(After(time, 10)); // re-arms the one timer earlier
        time.Advance(TimeSpan.FromMilliseconds(10));
        Assert.True(early.IsCompleted);
        Assert.False(late.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(30));

        Assert.True(late.IsCompleted);
    }

    [Fact]
    public void One_firing_wakes_every_waiter_due_within_an_eighth_of_the_window()
    {
        var time = new FakeTimeProvider();
        using var timer = new RollupTimer(time, Window);

        // 500 replies whose windows end within 5 ms (40 ms / 8) of the first are served by one wake-up.
        var waits = Enumerable.Range(0, 500).Select(i => timer.WaitUntilAsync(After(time, 20 + i * 0.01))).ToList();
        var outside = timer.WaitUntilAsync(After(time, 30));
        time.Advance(TimeSpan.FromMilliseconds(20));

        Assert.All(waits, w => Assert.True(w.IsCompleted));
        Assert.False(outside.IsCompleted);
        Assert.Equal(1, timer.Pending);
    }

    [Fact]
    public void Only_one_timer_exists_for_any_number_of_waiters()
    {
        var time = new CountingTimeProvider();
        using var timer = new RollupTimer(time, Window);

        for (var i = 0; i < 1000; i++)
        {
            _ = timer.WaitUntilAsync(After(time, 1 + i % 50));
        }
        time.Advance(TimeSpan.FromMilliseconds(60));

        Assert.Equal(1, time.TimersCreated);
        Assert.Equal(0, timer.Pending);
    }

    private sealed class CountingTimeProvider : FakeTimeProvider
    {
        public int TimersCreated { get; private set; }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            TimersCreated++;
            return base.CreateTimer(callback, state, dueTime, period);
        }
    }
}
