using System.Globalization;

namespace AiStreaming.AppHost.Hosting.Runtime;

/// <summary>The table <c>dotnet run --project AppHost</c> prints once everything is healthy: replicas, the app's URL, the dashboard's.</summary>
internal static class ConsoleSummary
{
    public static void Print(Orchestrator orchestrator, ResourceCollection resources, Uri? dashboardLogin)
    {
        var rows = orchestrator.StartOrder
            .SelectMany(r => r.Replicas.Select(p => new[]
            {
                p.DisplayName, p.State.ToString(), p.ProcessId?.ToString(CultureInfo.InvariantCulture) ?? "-",
                r.Driver.GetEndpoint(p).GetLeftPart(UriPartial.Authority),
            }))
            .Prepend(["Replica", "State", "PID", "Endpoint"])
            .ToList();
        var widths = Enumerable.Range(0, 3).Select(i => rows.Max(r => r[i].Length) + 2).ToArray();
        Console.WriteLine();
        foreach (var row in rows)
        {
            Console.WriteLine($"  {row[0].PadRight(widths[0])}{row[1].PadRight(widths[1])}{row[2].PadRight(widths[2])}{row[3]}");
        }
        Console.WriteLine();
        foreach (var resource in resources)
        {
            if (resource.Endpoint() is { IsProxied: true } balanced)
            {
                ConsoleOutput.Detail($"  {resource.Name}: {resource.ReplicaCount()} replicas behind {balanced.Url.GetLeftPart(UriPartial.Authority)}");
            }
        }
        foreach (var resource in resources)
        {
            if (resource.Endpoint() is { IsExternal: true } external)
            {
                ConsoleOutput.Info($"  {resource.Name}: {external.Url.GetLeftPart(UriPartial.Authority)}");
            }
        }
        if (dashboardLogin is not null)
        {
            // As Aspire prints "Login to the dashboard at …/login?t=…": the token is the only way in.
            ConsoleOutput.Info($"  dashboard: {dashboardLogin}");
        }
        ConsoleOutput.Info("  Press Ctrl+C to stop.");
        Console.WriteLine();
    }
}
