using System.ComponentModel.DataAnnotations;

namespace AiStreaming.Api.Outbox;

/// <summary>Outbox relay settings, bound from the <c>Outbox</c> configuration section.</summary>
public sealed class OutboxOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Outbox";

    /// <summary>How often the relay looks for unpublished events (e.g. after a Redis outage). Default 1 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Events published per relay transaction. Default 100.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 100;

    /// <summary>How long published rows are kept before the relay deletes them. Default 1 day.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan RetainPublished { get; set; } = TimeSpan.FromDays(1);
}
