namespace AiStreaming.Channels;

/// <summary>The outcome of a subscribe request: where the subscriber starts and what it is replayed.</summary>
/// <param name="Recovered">
/// <see langword="true"/> when the subscriber's position was honoured: <see cref="Replay"/> holds exactly the events it
/// missed. <see langword="false"/> when history could not prove that (no position given, other epoch, trimmed or
/// expired history, a position ahead of the channel): the subscriber must reload state from the source of truth.
/// </param>
/// <param name="Epoch">Epoch the subscriber is at (may be <see langword="null"/> for a channel that has no events yet).</param>
/// <param name="Offset">Offset the subscriber is at before <see cref="Replay"/>: its own offset when recovered, the top offset otherwise.</param>
/// <param name="Replay">Missed events to deliver before live ones, in offset order (empty when not recovered).</param>
public sealed record RecoveryPlan(bool Recovered, string? Epoch, long Offset, IReadOnlyList<ChannelEvent> Replay);

/// <summary>Decides recovery from a client's position and a history snapshot (Centrifugo's rules).</summary>
public static class Recovery
{
    /// <summary>
    /// Plans a subscription. Recovery succeeds when the client's epoch is current and history holds every offset
    /// after <paramref name="sinceOffset"/> up to the snapshot's top (first entry = <paramref name="sinceOffset"/> + 1,
    /// entries contiguous), or when the client is already at the top.
    /// </summary>
    /// <param name="sinceOffset">Last offset the client processed, or <see langword="null"/> for a fresh subscription.</param>
    /// <param name="epoch">Epoch of that offset.</param>
    /// <param name="snapshot">Position and history read after the live subscription was in place.</param>
    /// <returns>The plan.</returns>
    public static RecoveryPlan Plan(long? sinceOffset, string? epoch, HistorySnapshot snapshot)
    {
        var fresh = new RecoveryPlan(false, snapshot.Epoch, snapshot.TopOffset, []);
        if (sinceOffset is not { } since || since < 0 || epoch is null || snapshot.Epoch != epoch || since > snapshot.TopOffset)
        {
            return fresh;
        }
        if (since == snapshot.TopOffset)
        {
            return new RecoveryPlan(true, epoch, since, []);
        }

        var expected = since + 1;
        foreach (var e in snapshot.Events)
        {
            if (e.Offset != expected)
            {
                return fresh; // trimmed (first entry after since+1) or a hole: history cannot prove continuity
            }
            expected++;
        }
        return expected - 1 == snapshot.TopOffset ? new RecoveryPlan(true, epoch, since, snapshot.Events) : fresh;
    }
}
