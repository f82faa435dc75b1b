using AiStreaming.Api.Conversations;

namespace AiStreaming.Tests.Api.Conversations;

/// <summary>Titles derived from a conversation's first message (<see cref="ConversationStore.TitleFrom"/>).</summary>
public class TitleTests
{
    [Fact]
    public void A_short_message_is_its_own_title_with_whitespace_collapsed()
    {
        Assert.Equal("How do offsets work?", ConversationStore.TitleFrom("  How do\toffsets\n\nwork?  "));
    }

    [Fact]
    public void A_long_message_is_cut_at_a_word_boundary_with_an_ellipsis()
    {
        var content = string.Join(' ', Enumerable.Repeat("streaming", 20));

        var title = ConversationStore.TitleFrom(content);

        Assert.EndsWith("…", title, StringComparison.Ordinal);
        Assert.True(title.Length <= ConversationStore.DerivedTitleLength + 1, title);
        Assert.StartsWith(title[..^1], content, StringComparison.Ordinal);
        Assert.EndsWith("streaming…", title, StringComparison.Ordinal);
    }

    [Fact]
    public void A_single_long_word_is_cut_at_the_title_length()
    {
        var title = ConversationStore.TitleFrom(new string('x', 500));

        Assert.Equal(new string('x', ConversationStore.DerivedTitleLength) + "…", title);
    }
}
