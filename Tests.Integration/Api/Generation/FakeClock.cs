using Microsoft.Extensions.Time.Testing;

namespace AiStreaming.Tests.Api.Generation;

/// <summary>Drives an Api that runs on a <see cref="FakeTimeProvider"/>.</summary>
internal static class FakeClock
{
    /// <summary>A fake clock at the current time (user tokens issued by the tests stay valid on it).</summary>
    public static FakeTimeProvider Now() => new(DateTimeOffset.UtcNow);

    /// <summary>
    /// Advances <paramref name="time"/> by <paramref name="step"/> until <paramref name="done"/> holds, yielding briefly
    /// between steps so the Api's background work runs. What happens is decided by the fake clock; the real time it
    /// takes only bounds the test (at most <paramref name="maxSteps"/> steps).
    /// </summary>
    /// <returns>The fake time advanced in all.</returns>
    public static async Task<TimeSpan> AdvanceUntilAsync(this FakeTimeProvider time, TimeSpan step, Func<bool> done, int maxSteps = 2000)
    {
        var advanced = TimeSpan.Zero;
        for (var i = 0; i < maxSteps; i++)
        {
            if (done())
            {
                return advanced;
            }
            time.Advance(step);
            advanced += step;
            await Task.Delay(5);
        }
        throw new TimeoutException($"Not done after advancing the fake clock {maxSteps} times by {step}.");
    }
}
