using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace AiStreaming.Api.Generation;

// Over ~250 lines on purpose: about a third is data (stop words, word pools, code and table templates) that only this
// composer reads; splitting the data from the one function that uses it would add a room without a second owner.

/// <summary>Composes the simulated model's Markdown replies and splits them into tokens.</summary>
internal static partial class SimulatedReply
{
    // Room kept after a structured block (heading, list, code, table) so a closing paragraph always fits.
    private const int ClosingReserve = 8;

    private static readonly HashSet<string> StopWords = new(StringComparer.OrdinalIgnoreCase)
    {
        "about", "above", "after", "again", "also", "always", "another", "because", "been", "before", "being", "between",
        "both", "could", "does", "doing", "done", "down", "each", "either", "else", "even", "every", "explain", "from",
        "give", "have", "having", "here", "into", "just", "know", "like", "make", "many", "more", "most", "much", "must",
        "need", "only", "other", "over", "please", "same", "should", "show", "some", "such", "tell", "than", "that",
        "their", "them", "then", "there", "these", "they", "thing", "things", "this", "those", "through", "very", "want",
        "what", "when", "where", "which", "while", "will", "with", "would", "write", "your", "yours", "best", "good", "help",
        "helps", "long", "short", "example", "examples", "using", "work", "works", "now", "again", "thanks",
    };

    private static readonly string[] FallbackKeywords = ["streaming", "latency", "tokens", "resilience", "backpressure", "recovery"];

    private static readonly string[] Sentences =
    [
        "{0} is easiest to reason about when you look at it end to end, from the first request to the last byte.",
        "In practice, {0} depends on a few choices that are cheap to make early and expensive to change later.",
        "A good first step is to measure {0} before changing anything, so every later decision has a baseline.",
        "Most problems with {0} come from hidden assumptions about timing, ordering or failure.",
        "Keep {0} and {1} separate in your design, because they fail in different ways.",
        "When {0} grows, the bottleneck usually moves to {1}, so watch both.",
        "The simplest version of {0} that works is often good enough for a long time.",
        "Treat {0} as a contract: write down what is guaranteed and what is only likely.",
        "Small, frequent feedback beats big batches when you tune {0}.",
        "If {0} must survive restarts, persist its state where the rest of the system can find it.",
        "It helps to give {0} explicit limits, such as sizes, rates and timeouts.",
        "Users notice {0} first through latency, so the first response matters more than the total time.",
        "Logs tell you what happened to {0}; metrics tell you how often; traces tell you why.",
        "For {0}, prefer boring technology that your team already knows how to operate.",
        "Test {0} under failure as well as under load, because the two reveal different bugs.",
        "A clear owner for {0} avoids the situation where everyone assumes someone else handles it.",
        "Compare {0} with {1} on the cases that matter to you, not on benchmarks alone.",
        "Document how {0} behaves when {1} is slow or unavailable.",
        "Once {0} is stable, automate the checks so it stays that way.",
        "The trade-off with {0} is usually between simplicity now and flexibility later.",
    ];

    private static readonly string[] HeadingSuffixes = ["in practice", "explained", ": a short guide", ": what to know", "and how to approach it"];

    private static readonly string[] LeadTemplates =
    [
        "**Short answer:** {0} works best when you keep it simple, measure it, and make failure explicit.",
        "**In brief:** start with the smallest design for {0} that you can observe, then iterate.",
        "**Here is the gist:** {0} and {1} are related, but they are worth handling separately.",
    ];

    private static readonly string[] BulletTemplates =
    [
        "**{K}**: decide what success looks like before you optimise it.",
        "**{K}**: set an explicit limit and report when it is reached.",
        "**{K}**: measure it continuously, not only during incidents.",
        "**{K}**: make the failure mode visible to the user.",
        "**{K}**: keep the configuration in one place with sensible defaults.",
        "**{K}**: prefer idempotent operations so retries are safe.",
    ];

    private static readonly string[] StepTemplates =
    [
        "Write down the requirements for {0}.",
        "Build the simplest version of {0} that runs end to end.",
        "Add metrics for {0} and a dashboard to watch them.",
        "Break {0} on purpose and check that it recovers.",
        "Review how {0} interacts with {1}.",
        "Automate the checks and keep them in the build.",
    ];

    /// <summary>A stable (process-independent) 32-bit FNV-1a hash of <paramref name="text"/>.</summary>
    /// <param name="text">Any text.</param>
    public static int StableHash(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }
        return unchecked((int)hash);
    }

    /// <summary>Splits text into tokens (newlines, words with their leading spaces, single punctuation marks) whose concatenation is the text.</summary>
    /// <param name="text">Text.</param>
    public static List<string> Tokenize(string text) => [.. TokenPattern().Matches(text).Select(m => m.Value)];

    /// <summary>Composes a reply of between <paramref name="minTokens"/> and <paramref name="maxTokens"/> tokens about <paramref name="prompt"/>.</summary>
    /// <param name="prompt">The user's message.</param>
    /// <param name="random">Source of variation (seeded for reproducible replies).</param>
    /// <param name="minTokens">Fewest tokens.</param>
    /// <param name="maxTokens">Most tokens.</param>
    /// <returns>The reply's tokens.</returns>
    public static List<string> Compose(string prompt, Random random, int minTokens, int maxTokens)
    {
        var target = random.Next(minTokens, maxTokens + 1);
        var keywords = Keywords(prompt, random);
        var plan = Plan(keywords, random);
        var tokens = new List<string>(target + 4);
        var next = 0;
        while (tokens.Count < target)
        {
            var (block, isParagraph) = next < plan.Count ? plan[next++] : (Paragraph(keywords, random), true);
            var blockTokens = Tokenize(tokens.Count == 0 ? block : "\n\n" + block);
            var room = target - tokens.Count;
            if (isParagraph ? blockTokens.Count <= room : blockTokens.Count + ClosingReserve <= room)
            {
                tokens.AddRange(blockTokens);
            }
            else if (isParagraph)
            {
                if (tokens.Count == 0 || room >= 4)
                {
                    tokens.AddRange(Cut(blockTokens, room));
                }
                else
                {
                    Pad(tokens, room);
                }
            }
        }
        return tokens;
    }

    // Cuts a paragraph to exactly `room` tokens ending with a full stop.
    private static List<string> Cut(List<string> paragraph, int room)
    {
        if (room == 1)
        {
            return [paragraph[0]];
        }
        var cut = paragraph.Take(room - 1).ToList();
        if (!IsWord(cut[^1]))
        {
            cut[^1] = " too";
        }
        cut.Add(".");
        return cut;
    }

    // Lengthens the closing sentence by a few words (before its full stop) to reach the target exactly.
    private static void Pad(List<string> tokens, int count)
    {
        string[] filler = [" in", " practice", " overall"];
        var at = tokens[^1] == "." ? tokens.Count - 1 : tokens.Count;
        tokens.InsertRange(at, filler.Take(count));
    }

    private static bool IsWord(string token) => token.Any(char.IsLetterOrDigit);

    private static List<string> Keywords(string prompt, Random random)
    {
        var words = WordPattern().Matches(prompt)
            .Select(m => KeepsCase(prompt, m) ? m.Value : m.Value.ToLowerInvariant())
            .Where(w => !StopWords.Contains(w))
            .DistinctBy(w => w.ToLowerInvariant())
            .Take(6)
            .ToList();
        foreach (var fallback in FallbackKeywords.OrderBy(_ => random.Next()))
        {
            if (words.Count >= 3)
            {
                break;
            }
            if (!words.Contains(fallback))
            {
                words.Add(fallback);
            }
        }
        return words;
    }

    // Names keep their spelling (PostgreSQL, Kestrel mid-sentence); ordinary words are lower-cased.
    private static bool KeepsCase(string prompt, Match word)
    {
        if (word.Value.Skip(1).Any(char.IsUpper))
        {
            return true;
        }
        var before = prompt[..word.Index].TrimEnd();
        return char.IsUpper(word.Value[0]) && before.Length > 0 && !".!?:".Contains(before[^1], StringComparison.Ordinal);
    }

    private static List<(string Block, bool IsParagraph)> Plan(List<string> k, Random random)
    {
        var plan = new List<(string, bool)>();
        if (random.Next(2) == 0)
        {
            plan.Add(($"## {Capitalize(k[0])} {Pick(HeadingSuffixes, random)}".Replace(" :", ":", StringComparison.Ordinal), false));
            plan.Add((Paragraph(k, random), true));
        }
        else
        {
            plan.Add((Fill(Pick(LeadTemplates, random), k, random), true));
        }

        var extras = new List<(string, bool)>
        {
            (random.Next(2) == 0 ? BulletList(k, random) : NumberedList(k, random), false),
        };
        if (random.Next(100) < 45)
        {
            extras.Add((CodeBlock(k, random), false));
        }
        if (random.Next(100) < 35)
        {
            extras.Add((Table(k, random), false));
        }
        foreach (var extra in extras.OrderBy(_ => random.Next()))
        {
            plan.Add(extra);
            plan.Add((Paragraph(k, random), true));
        }
        return plan;
    }

    private static string Paragraph(List<string> k, Random random)
    {
        var count = random.Next(2, 5);
        return string.Join(' ', Enumerable.Range(0, count).Select(_ => Fill(Pick(Sentences, random), k, random)));
    }

    private static string BulletList(List<string> k, Random random) =>
        string.Join('\n', BulletTemplates.OrderBy(_ => random.Next()).Take(random.Next(3, 6))
            .Select((t, i) => "- " + t.Replace("{K}", Capitalize(k[i % k.Count]), StringComparison.Ordinal)));

    private static string NumberedList(List<string> k, Random random) =>
        string.Join('\n', StepTemplates.Take(random.Next(3, 6))
            .Select((t, i) => $"{i + 1}. {Fill(t, k, random)}"));

    private static string Table(List<string> k, Random random)
    {
        string[] whens = ["when latency matters most", "for batch workloads", "when the team is small", "at very large scale", "while prototyping"];
        string[] costs = ["more moving parts", "higher memory use", "harder to test", "slower to start", "needs careful tuning"];
        var rows = k.Take(3).Select(w => $"| {Capitalize(w)} | {Pick(whens, random)} | {Pick(costs, random)} |");
        return "| Option | When to use it | Trade-off |\n|---|---|---|\n" + string.Join('\n', rows);
    }

    private static string CodeBlock(List<string> k, Random random)
    {
        var name = Identifier(k[0]);
        var other = Identifier(k[Math.Min(1, k.Count - 1)]);
        return random.Next(5) switch
        {
            0 => $$"""
                ```csharp
                // Stream the {{k[0]}} reply as it is generated.
                await foreach (var chunk in chat.GetStreamingChatMessageContentsAsync(history, cancellationToken: ct))
                {
                    Console.Write(chunk.Content);
                }
                ```
                """,
            1 => $$"""
                ```csharp
                public sealed record {{Capitalize(name)}}Options
                {
                    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);
                    public int MaxRetries { get; init; } = 3;
                }
                ```
                """,
            2 => $$"""
                ```csharp
                var {{name}} = await LoadAsync(id, ct);
                if ({{name}} is null)
                {
                    return TypedResults.NotFound();
                }
                return TypedResults.Ok({{name}}.With{{Capitalize(other)}}());
                ```
                """,
            3 => $$"""
                ```bash
                # Check {{k[0]}} end to end
                curl -sS -N http://localhost:8080/api/{{name}} | head -n 20
                ```
                """,
            _ => $$"""
                ```bash
                export {{name.ToUpperInvariant()}}_TIMEOUT=30
                dotnet run --project src/{{Capitalize(name)}} -- --{{other}} enabled
                ```
                """,
        };
    }

    private static string Fill(string template, List<string> k, Random random)
    {
        var first = k[random.Next(k.Count)];
        var second = k.Count > 1 ? k.Where(w => w != first).ElementAt(random.Next(k.Count - 1)) : first;
        var sentence = template.Replace("{0}", first, StringComparison.Ordinal).Replace("{1}", second, StringComparison.Ordinal);
        return Capitalize(sentence);
    }

    private static string Pick(string[] items, Random random) => items[random.Next(items.Length)];

    private static string Capitalize(string text) =>
        text.Length == 0 ? text : char.ToUpper(text[0], CultureInfo.InvariantCulture) + text[1..];

    private static string Identifier(string word)
    {
        var builder = new StringBuilder();
        foreach (var c in word.Where(char.IsAsciiLetterOrDigit))
        {
            builder.Append(c);
        }
        return builder.Length == 0 || !char.IsAsciiLetter(builder[0]) ? "value" : builder.ToString();
    }

    [GeneratedRegex(@"\n| *[\p{L}\p{N}_']+| *(?:\*\*|```|---|\#{1,6}|[^\s\p{L}\p{N}_'])| +|\s", RegexOptions.CultureInvariant)]
    private static partial Regex TokenPattern();

    [GeneratedRegex(@"\p{L}[\p{L}\p{N}-]{3,}", RegexOptions.CultureInvariant)]
    private static partial Regex WordPattern();
}
