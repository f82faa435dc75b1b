using System.Text;
using AiStreaming.Channels;

namespace AiStreaming.Tests.EndToEnd;

/// <summary>
/// What a client saw on one channel, across resubscriptions: the position it would resume from, the text of each
/// message rebuilt from deltas, and every breach of "each offset once, in order" (gaps, repeats, foreign epochs).
/// Thread-safe.
/// </summary>
public sealed class ChannelTranscript
{
    private readonly Lock _gate = new();
    private readonly Dictionary<Guid, StringBuilder> _text = [];
    private readonly Dictionary<Guid, ChannelEvent> _terminal = [];
    private readonly Dictionary<Guid, int> _lengthAtFresh = [];
    private readonly List<string> _anomalies = [];
    private readonly List<(bool Recovered, string? Node)> _subscriptions = [];
    private readonly List<long> _offsets = [];
    private readonly List<string> _resubscribeReasons = [];
    private readonly List<DateTime> _arrivals = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Position to resume from: epoch and last offset processed (epoch null before the channel has events).</summary>
    public (string? Epoch, long Offset) Position
    {
        get { lock (_gate) { return (_epoch, _offset); } }
    }

    private string? _epoch;
    private long _offset;

    /// <summary>Outcome and serving node of each subscription, in order.</summary>
    public IReadOnlyList<(bool Recovered, string? Node)> Subscriptions
    {
        get { lock (_gate) { return [.. _subscriptions]; } }
    }

    /// <summary>Offsets delivered (a coalesced delta contributes each offset it covers), in order.</summary>
    public IReadOnlyList<long> Offsets
    {
        get { lock (_gate) { return [.. _offsets]; } }
    }

    /// <summary>Breaches of exactly-once, in-order delivery.</summary>
    public IReadOnlyList<string> Anomalies
    {
        get { lock (_gate) { return [.. _anomalies]; } }
    }

    /// <summary>Reasons of <c>resubscribe</c> frames received.</summary>
    public IReadOnlyList<string> ResubscribeReasons
    {
        get { lock (_gate) { return [.. _resubscribeReasons]; } }
    }

    /// <summary>
    /// When the first channel event (with an offset) arrived after <paramref name="since"/> (UTC), or null: with a reply
    /// streaming at tens of tokens per second, the pause a fault caused is this minus the fault's time.
    /// </summary>
    public DateTime? FirstEventAfter(DateTime since)
    {
        lock (_gate)
        {
            foreach (var at in _arrivals)
            {
                if (at > since)
                {
                    return at;
                }
            }
            return null;
        }
    }

    /// <summary>Number of deltas received for <paramref name="messageId"/>'s text so far (by text length).</summary>
    public int TextLength(Guid messageId)
    {
        lock (_gate) { return _text.TryGetValue(messageId, out var sb) ? sb.Length : 0; }
    }

    /// <summary>Concatenated deltas of <paramref name="messageId"/>.</summary>
    public string Text(Guid messageId)
    {
        lock (_gate) { return _text.TryGetValue(messageId, out var sb) ? sb.ToString() : ""; }
    }

    /// <summary>
    /// Text of <paramref name="messageId"/> received since the last subscription that was not recovered (all of it when
    /// every resubscription recovered), and whether such a subscription happened while the message had text: after one,
    /// the deltas before and after it need not join up (the contract is "every offset once, or recovered=false").
    /// </summary>
    public (string Text, bool AfterFresh) TextSinceFresh(Guid messageId)
    {
        lock (_gate)
        {
            var text = _text.TryGetValue(messageId, out var sb) ? sb.ToString() : "";
            return _lengthAtFresh.TryGetValue(messageId, out var at) ? (text[at..], true) : (text, false);
        }
    }

    /// <summary>The terminal event of <paramref name="messageId"/>, if received.</summary>
    public ChannelEvent? Terminal(Guid messageId)
    {
        lock (_gate) { return _terminal.GetValueOrDefault(messageId); }
    }

    /// <summary>Node of the latest subscription.</summary>
    public string? CurrentNode
    {
        get { lock (_gate) { return _subscriptions.Count == 0 ? null : _subscriptions[^1].Node; } }
    }

    /// <summary>Sets the position a client starts from, as if it had processed up to <paramref name="offset"/>.</summary>
    public void Seed(string epoch, long offset)
    {
        lock (_gate)
        {
            (_epoch, _offset) = (epoch, offset);
        }
    }

    /// <summary>
    /// Applies a message's state as loaded from the Api after a subscription that was not recovered, as real clients
    /// do: a message the Api reports ended gets its final text and a terminal event (live deltas of messages still
    /// streaming are kept).
    /// </summary>
    public void ApplyStored(Guid messageId, string status, string content, string? errorCode)
    {
        var type = status switch
        {
            "completed" => ChannelEventTypes.MessageCompleted,
            "failed" => ChannelEventTypes.MessageFailed,
            "cancelled" => ChannelEventTypes.MessageCancelled,
            _ => null,
        };
        lock (_gate)
        {
            if (type is null || _terminal.ContainsKey(messageId))
            {
                return;
            }
            _text[messageId] = new StringBuilder(content);
            _terminal[messageId] = new ChannelEvent
            {
                Channel = "",
                Type = type,
                MessageId = messageId,
                Data = ChannelEvent.ToData(new { text = content, code = errorCode }),
            };
            Resyncs++;
            var changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            changed.TrySetResult();
        }
    }

    /// <summary>
    /// After a subscribed frame that was not recovered: loads the conversation of <paramref name="channel"/>
    /// (<c>conv:{id}</c>) from the Api through <paramref name="web"/> and applies the messages that have ended.
    /// </summary>
    public async Task ResyncFromApiAsync(HttpClient web, string channel, CancellationToken cancellationToken)
    {
        var conversationId = channel["conv:".Length..];
        var conversation = await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<System.Text.Json.JsonElement>(
            web, $"/api/conversations/{conversationId}", cancellationToken);
        foreach (var message in conversation.GetProperty("messages").EnumerateArray())
        {
            if (message.GetProperty("role").GetString() == "assistant")
            {
                var error = message.TryGetProperty("error", out var e) && e.ValueKind == System.Text.Json.JsonValueKind.Object
                    ? e.GetProperty("code").GetString()
                    : null;
                ApplyStored(message.GetProperty("id").GetGuid(), message.GetProperty("status").GetString()!,
                    message.GetProperty("content").GetString() ?? "", error);
            }
        }
    }

    /// <summary>Messages whose end was learned from the Api rather than from the channel.</summary>
    public int Resyncs { get; private set; }

    /// <summary>Applies one received event.</summary>
    public void OnEvent(ChannelEvent e)
    {
        lock (_gate)
        {
            switch (e.Type)
            {
                case ChannelEventTypes.Subscribed:
                    var recovered = e.Data!.Value.GetProperty("recovered").GetBoolean();
                    var node = e.Data.Value.TryGetProperty("node", out var n) ? n.GetString() : null;
                    _subscriptions.Add((recovered, node));
                    if (!recovered)
                    {
                        foreach (var (id, sb) in _text)
                        {
                            _lengthAtFresh[id] = sb.Length;
                        }
                        // A real client now reloads state from the Api; tests compare with PostgreSQL themselves.
                        (_epoch, _offset) = (e.Epoch, e.Offset);
                    }
                    else if (e.Epoch != _epoch || e.Offset != _offset)
                    {
                        _anomalies.Add($"recovered at {e.Epoch}:{e.Offset} but client was at {_epoch}:{_offset}");
                    }
                    break;
                case ChannelEventTypes.Resubscribe:
                    _resubscribeReasons.Add(e.Data!.Value.GetProperty("reason").GetString()!);
                    break;
                default:
                    if (e.Offset == 0)
                    {
                        break; // presence
                    }
                    Apply(e);
                    break;
            }
            var changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            changed.TrySetResult();
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds for this transcript.</summary>
    /// <exception cref="TimeoutException">It did not within <paramref name="timeout"/>.</exception>
    public async Task WaitUntilAsync(Func<ChannelTranscript, bool> condition, TimeSpan timeout, string what)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                changed = _changed.Task;
            }
            if (condition(this))
            {
                return;
            }
            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0} s waiting for {what}. {Describe()}");
            }
        }
    }

    /// <summary>A one-line summary for failure messages.</summary>
    public string Describe()
    {
        lock (_gate)
        {
            return $"Position {_epoch}:{_offset}; subscriptions [{string.Join(", ", _subscriptions.Select(s => $"{(s.Recovered ? "recovered" : "fresh")}@{s.Node}"))}]; "
                + $"resubscribe reasons [{string.Join(", ", _resubscribeReasons)}]; messages [{string.Join(", ", _text.Select(kv => $"{kv.Key}: {kv.Value.Length} chars{(_terminal.TryGetValue(kv.Key, out var t) ? " " + t.Type : "")}"))}]; "
                + $"anomalies [{string.Join("; ", _anomalies)}]";
        }
    }

    private void Apply(ChannelEvent e)
    {
        _arrivals.Add(DateTime.UtcNow);
        if (_epoch is not null && e.Epoch != _epoch)
        {
            _anomalies.Add($"event {e.Epoch}:{e.Offset} from another epoch than {_epoch}");
        }
        var first = e.FromOffset ?? e.Offset;
        if (_epoch is not null && first != _offset + 1)
        {
            _anomalies.Add(first <= _offset ? $"offset {first} repeated (was at {_offset})" : $"offsets {_offset + 1}..{first - 1} missed");
        }
        for (var o = first; o <= e.Offset; o++)
        {
            _offsets.Add(o);
        }
        (_epoch, _offset) = (e.Epoch, e.Offset);

        if (e.MessageId is not { } id)
        {
            return;
        }
        switch (e.Type)
        {
            case ChannelEventTypes.MessageStarted:
                _text.TryAdd(id, new StringBuilder());
                break;
            case ChannelEventTypes.Delta:
                if (!_text.TryGetValue(id, out var sb))
                {
                    _text[id] = sb = new StringBuilder();
                }
                sb.Append(e.DeltaText);
                break;
            default:
                if (ChannelEventTypes.IsTerminal(e.Type))
                {
                    _terminal[id] = e;
                }
                break;
        }
    }
}
