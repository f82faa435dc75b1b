/// <summary>
/// The AppHost's entry point type, public so tests can name the AppHost the way Aspire.Hosting.Testing does:
/// <c>await DistributedApplicationTestingBuilder.CreateAsync&lt;Program&gt;([])</c> runs <c>Program.cs</c> up to
/// <c>Build()</c> and hands back the builder with every resource added.
/// </summary>
public partial class Program;
