namespace Projects;

/// <summary>
/// Names the AppHost project in tests, as the <c>Projects.AppHost</c> type Aspire generates does:
/// <c>DistributedApplicationTestingBuilder.CreateAsync&lt;Projects.AppHost&gt;()</c>. (Tests also reference the Api and
/// Streamer, whose top-level <c>Program</c> types would make a bare <c>Program</c> ambiguous.)
/// </summary>
public sealed class AppHost;
