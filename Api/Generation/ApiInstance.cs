namespace AiStreaming.Api.Generation;

/// <summary>
/// Identity of this Api process, stored as <c>messages.owner_id</c> of the generations it runs (lease fencing).
/// </summary>
/// <param name="id">The id.</param>
public sealed class ApiInstance(string id)
{
    /// <summary>
    /// The instance id, unique per process lifetime so that a restarted replica never shares its predecessor's
    /// lease (fencing): <c>{replica}:{pid}:{random 6 hex}</c>, where replica is <c>service.instance.id</c> from
    /// <c>OTEL_RESOURCE_ATTRIBUTES</c> when present (what the AppHost and OpenTelemetry call this replica),
    /// otherwise the machine name.
    /// </summary>
    public string Id { get; } = id;

    /// <summary>Creates the identity of the current process.</summary>
    /// <param name="otelResourceAttributes">Value of <c>OTEL_RESOURCE_ATTRIBUTES</c> (<c>key=value,…</c>, values percent-encoded), or <see langword="null"/>.</param>
    /// <returns>The instance.</returns>
    public static ApiInstance Create(string? otelResourceAttributes)
    {
        foreach (var pair in (otelResourceAttributes ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && pair[..equals].Trim() == "service.instance.id")
            {
                var value = Uri.UnescapeDataString(pair[(equals + 1)..].Trim());
                if (value.Length > 0)
                {
                    return new ApiInstance($"{value}:{Suffix()}");
                }
            }
        }
        return new ApiInstance($"{Environment.MachineName}:{Suffix()}");
    }

    private static string Suffix() => $"{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..6]}";

    /// <inheritdoc/>
    public override string ToString() => Id;
}
