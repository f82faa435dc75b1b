using AiStreaming.Channels;

namespace AiStreaming.Tests.Channels;

/// <summary>Builds events as the publish script would.</summary>
internal static class EventFactory
{
    public static readonly Guid MessageId = Guid.Parse("0d8e5f0e-1111-4222-8333-444455556666");

    public static ChannelEvent Delta(long offset, string text, string epoch = "e1", Guid? messageId = null) => new()
    {
        Channel = "conv:test",
        Offset = offset,
        Epoch = epoch,
        Type = ChannelEventTypes.Delta,
        MessageId = messageId ?? MessageId,
        Data = ChannelEvent.ToData(new { text }),
        Ts = 1,
    };

    public static ChannelEvent Of(string type, long offset, string epoch = "e1") => new()
    {
        Channel = "conv:test",
        Offset = offset,
        Epoch = offset == 0 ? null : epoch,
        Type = type,
        MessageId = MessageId,
        Data = ChannelEvent.ToData(new { }),
        Ts = 1,
    };

    public static List<ChannelEvent> Deltas(long from, long to, string epoch = "e1") =>
        [.. Enumerable.Range((int)from, (int)(to - from + 1)).Select(o => Delta(o, $"t{o} ", epoch))];
}
