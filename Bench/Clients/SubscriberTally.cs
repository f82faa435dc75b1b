using System.Text;
using AiStreaming.Bench.Measure;
using AiStreaming.Channels;

namespace AiStreaming.Bench.Clients;

/// <summary>
/// What one subscriber received on one channel, across resubscriptions: exactness (every offset after its first
/// position exactly once; each message's deltas concatenated equal its terminal <c>data.text</c>), and for tokens whose
/// model stamp (Unix µs, see <c>SimulatedModel:StampTokens</c>) lies in the <see cref="MeasureWindow"/>: count and
/// latency (receive time − stamp). Fed by one reader at a time; read after the run.
/// </summary>
/// <param name="window">Measurement window.</param>
/// <param name="onTerminal">Called with the message id when a terminal event arrives (the driver waits on it).</param>
public sealed class SubscriberTally(MeasureWindow window, Action<Guid>? onTerminal = null)
{
    private readonly Dictionary<Guid, MessageState> _messages = [];

    /// <summary>Epoch of the current position, or null before the first <c>subscribed</c> frame.</summary>
    public string? Epoch { get; private set; }

    /// <summary>Last offset processed (the position to resume from).</summary>
    public long Offset { get; private set; }

    /// <summary>Whether a position is known (a <c>subscribed</c> frame arrived).</summary>
    public bool HasPosition => Epoch is not null;

    /// <summary>Offsets skipped (gaps, and positions jumped by <c>recovered: false</c>).</summary>
    public long LostOffsets { get; private set; }

    /// <summary>Offsets received again.</summary>
    public long DuplicatedOffsets { get; private set; }

    /// <summary>Events from another epoch than the current one.</summary>
    public long EpochMismatches { get; private set; }

    /// <summary>Stamps (tokens) received in deltas whose stamp is inside the window.</summary>
    public long DeliveredTokens { get; private set; }

    /// <summary>Delta frames whose first token stamp is inside the window.</summary>
    public long DeltaFrames { get; private set; }

    /// <summary>Delta frames that carried <c>fromOffset</c> (coalesced by the streamer), whole run.</summary>
    public long CoalescedFrames { get; private set; }

    /// <summary><c>presence.join</c>/<c>presence.leave</c> frames received, whole run.</summary>
    public long PresenceFrames { get; private set; }

    /// <summary><c>subscribed</c> frames (1 + resubscriptions).</summary>
    public int Subscriptions { get; private set; }

    /// <summary><c>subscribed</c> frames with <c>recovered: false</c> after the first.</summary>
    public int Unrecovered { get; private set; }

    /// <summary><c>resubscribe</c> frames, by reason.</summary>
    public Dictionary<string, int> ResubscribeReasons { get; } = [];

    /// <summary>Token latency samples, µs.</summary>
    public LatencyRecorder Latency { get; } = new();

    /// <summary>When set, every in-window token as (stamp µs, latency µs), to split latency by phase afterwards.</summary>
    public List<(long StampUs, int LatencyUs)>? Timeline { get; set; }

    /// <summary>Unix µs of the last event received (0 before any).</summary>
    public long LastEventUs { get; private set; }

    /// <summary>Message states by id.</summary>
    public IReadOnlyDictionary<Guid, MessageState> Messages => _messages;

    /// <summary>Applies one event received at <paramref name="receivedUs"/> (Unix µs).</summary>
    public void OnEvent(in BenchEvent e, long receivedUs)
    {
        LastEventUs = receivedUs;
        switch (e.Type)
        {
            case ChannelEventTypes.Subscribed:
                Subscriptions++;
                if (!e.Recovered)
                {
                    if (Epoch is not null)
                    {
                        Unrecovered++;
                        LostOffsets += e.Epoch == Epoch ? Math.Max(0, e.Offset - Offset) : 1;
                    }
                    (Epoch, Offset) = (e.Epoch, e.Offset);
                }
                return;
            case ChannelEventTypes.Resubscribe:
                var reason = e.Reason ?? "?";
                ResubscribeReasons[reason] = ResubscribeReasons.GetValueOrDefault(reason) + 1;
                return;
            case ChannelEventTypes.Presence or ChannelEventTypes.PresenceJoin or ChannelEventTypes.PresenceLeave:
                PresenceFrames++;
                return;
        }
        if (e.Offset == 0)
        {
            return;
        }
        if (Epoch is not null && e.Epoch != Epoch)
        {
            EpochMismatches++;
        }
        var first = e.FromOffset ?? e.Offset;
        // After a subscribed frame the position is known even on a channel without events yet (epoch null, offset 0).
        if (Epoch is not null || Subscriptions > 0)
        {
            if (first > Offset + 1)
            {
                LostOffsets += first - Offset - 1;
            }
            else if (first <= Offset)
            {
                DuplicatedOffsets += Math.Min(Offset, e.Offset) - first + 1;
            }
        }
        if (e.Offset > Offset || Epoch is null)
        {
            (Epoch, Offset) = (e.Epoch, e.Offset);
        }
        if (e.MessageId is not { } id)
        {
            return;
        }
        if (!_messages.TryGetValue(id, out var m))
        {
            _messages[id] = m = new MessageState();
        }
        switch (e.Type)
        {
            case ChannelEventTypes.MessageStarted:
                m.Started = true;
                break;
            case ChannelEventTypes.Delta:
                if (e.FromOffset is not null)
                {
                    CoalescedFrames++;
                }
                if (m.FirstDeltaUs == 0)
                {
                    m.FirstDeltaUs = receivedUs;
                }
                m.LastDeltaUs = receivedUs;
                m.Text.Append(e.Text);
                if (CountStamps(e.Text, receivedUs))
                {
                    DeltaFrames++;
                }
                break;
            default:
                if (ChannelEventTypes.IsTerminal(e.Type))
                {
                    var isFirstTerminal = m.Final is null;
                    m.Final = e.Text ?? "";
                    m.TerminalUs = isFirstTerminal ? receivedUs : m.TerminalUs;
                    m.TerminalType = e.Type;
                    if (isFirstTerminal)
                    {
                        onTerminal?.Invoke(id);
                    }
                }
                break;
        }
    }

    /// <summary>Messages whose deltas, concatenated, differ from the terminal text (among those seen from their start).</summary>
    public int TextMismatches => _messages.Values.Count(m => m.Started && m.Final is not null && !m.Text.Equals(m.Final.AsSpan()));

    /// <summary>Messages seen from their start whose terminal event never arrived.</summary>
    public int Incomplete => _messages.Values.Count(m => m.Started && m.Final is null);

    // Counts the in-window stamps of a delta; returns whether its first stamp is in the window (the frame then counts).
    private bool CountStamps(string? text, long receivedUs)
    {
        var firstInWindow = false;
        var first = true;
        if (text is null)
        {
            return false;
        }
        foreach (var range in text.AsSpan().Split(' '))
        {
            var part = text.AsSpan(range);
            if (part.Length > 0 && long.TryParse(part, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var stamp)
                && window.Contains(stamp))
            {
                firstInWindow |= first;
                DeliveredTokens++;
                Latency.Record(receivedUs - stamp);
                Timeline?.Add((stamp, (int)Math.Min(int.MaxValue, receivedUs - stamp)));
            }
            first &= part.Length == 0;
        }
        return firstInWindow;
    }

    /// <summary>Counts the stamps in <paramref name="text"/> (a terminal text) that lie inside <paramref name="window"/>: tokens offered.</summary>
    public static long CountStampsIn(string? text, MeasureWindow window)
    {
        long n = 0;
        foreach (var range in (text ?? "").AsSpan().Split(' '))
        {
            if (long.TryParse((text ?? "").AsSpan(range), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var stamp)
                && window.Contains(stamp))
            {
                n++;
            }
        }
        return n;
    }
}

/// <summary>One message as one subscriber saw it.</summary>
public sealed class MessageState
{
    /// <summary>Whether <c>message.started</c> arrived (text checks apply only then).</summary>
    public bool Started { get; set; }

    /// <summary>Deltas concatenated.</summary>
    public StringBuilder Text { get; } = new();

    /// <summary>Terminal <c>data.text</c>, or null.</summary>
    public string? Final { get; set; }

    /// <summary>Terminal event type, or null.</summary>
    public string? TerminalType { get; set; }

    /// <summary>When the first delta arrived, Unix µs (0: none).</summary>
    public long FirstDeltaUs { get; set; }

    /// <summary>When the last delta arrived, Unix µs (0: none).</summary>
    public long LastDeltaUs { get; set; }

    /// <summary>When the terminal event first arrived, Unix µs (0: none).</summary>
    public long TerminalUs { get; set; }
}
