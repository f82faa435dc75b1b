namespace AiStreaming.Tests.Deploy;

/// <summary>
/// The tests that run the Bicep CLI (one compile of every infra/*.bicep, CPU-bound for tens of seconds): alone, after
/// the parallel collections, so the compile is not starved into its timeout by them on a small machine.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BicepCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Bicep CLI";
}
