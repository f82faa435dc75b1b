namespace AiStreaming.Tests.Infrastructure;

/// <summary>Integration tests sharing one Redis and one PostgreSQL server (<see cref="ServersFixture"/>, in Tests.Shared).</summary>
/// <remarks>Here, not beside the fixture: xunit finds collection definitions only in the test assembly itself.</remarks>
[CollectionDefinition(Name)]
public sealed class ServersCollection : ICollectionFixture<ServersFixture>
{
    public const string Name = "servers";
}
