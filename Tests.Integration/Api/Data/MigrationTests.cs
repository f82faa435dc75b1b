using System.Net;
using System.Net.Http.Json;
using AiStreaming.Api.Data;
using AiStreaming.Tests.Infrastructure;
using Aspire.Hosting.Testing;
using Npgsql;

namespace AiStreaming.Tests.Api.Data;

/// <summary>
/// The startup migrator (Evolve, checksums in <c>changelog</c>): creates a missing database, applies each migration once,
/// however many Apis start.
/// </summary>
[Collection(ServersCollection.Name)]
public class MigrationTests(ServersFixture servers)
{
    [Fact]
    public async Task Starting_a_second_Api_against_the_same_database_applies_no_migration_twice()
    {
        await using (var first = new ApiFactory(servers))
        {
            first.CreateClient();
        }
        var appliedBefore = await ReadAppliedAsync(servers.MessagesConnectionString);

        await using (var second = new ApiFactory(servers))
        {
            using var response = await second.CreateClient().PostAsJsonAsync("/api/conversations", new { title = "after restart" });
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }

        var expected = SchemaMigrator.Versions().ToArray();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, appliedBefore.Select(a => a.Version));
        Assert.Equal(appliedBefore, await ReadAppliedAsync(servers.MessagesConnectionString));
    }

    [Fact]
    public async Task Apis_starting_together_on_an_empty_database_apply_each_migration_once()
    {
        // As the AppHost makes messages: an empty database owned by the services' role, which connects to it.
        var database = NewDatabaseName();
        await CreateDatabaseAsync(database);
        try
        {
            await using var a = new ApiFactory(servers, messagesConnectionString: database.ConnectionString);
            await using var b = new ApiFactory(servers, messagesConnectionString: database.ConnectionString);
            await using var c = new ApiFactory(servers, messagesConnectionString: database.ConnectionString);

            var clients = await Task.WhenAll(new[] { a, b, c }.Select(api => Task.Run(api.CreateClient)));

            var applied = await ReadAppliedAsync(database.ConnectionString);
            Assert.Equal(SchemaMigrator.Versions(), applied.Select(m => m.Version));
            foreach (var http in clients)
            {
                var id = await http.CreateConversationAsync();
                var accepted = await http.PostAcceptedAsync(id, "Does the new schema work?");
                Assert.Equal("completed", (await http.WaitUntilEndedAsync(id, accepted.MessageId)).Status);
            }
        }
        finally
        {
            await DropDatabaseAsync(database);
        }
    }

    [Fact]
    public async Task A_missing_database_is_created_at_startup()
    {
        // SchemaMigrator's documented behaviour: "a missing database is created (the AppHost may hand over a server without it)",
        // by the services' own role (messages_owner may create databases, docs/security.md).
        var database = NewDatabaseName();
        try
        {
            await using var api = new ApiFactory(servers, messagesConnectionString: database.ConnectionString);

            var http = api.CreateClient();

            Assert.Equal(SchemaMigrator.Versions(), (await ReadAppliedAsync(database.ConnectionString)).Select(m => m.Version));
            await http.CreateConversationAsync();
        }
        finally
        {
            await DropDatabaseAsync(database);
        }
    }

    private NpgsqlConnectionStringBuilder NewDatabaseName() =>
        new(servers.MessagesConnectionString) { Database = $"migrations_{Guid.NewGuid():N}"[..24] };

    // The PostgreSQL server's superuser: creates and drops the tests' databases whoever the Api connects as.
    private async Task<string> SuperuserConnectionStringAsync() =>
        new NpgsqlConnectionStringBuilder((await servers.App.GetConnectionStringAsync("postgres"))!) { Database = "postgres", Pooling = false }.ConnectionString;

    private async Task CreateDatabaseAsync(NpgsqlConnectionStringBuilder database)
    {
        await using var connection = await OpenMaintenanceConnectionAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{database.Database}\" OWNER \"{database.Username}\"", connection);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<NpgsqlConnection> OpenMaintenanceConnectionAsync()
    {
        var connection = new NpgsqlConnection(await SuperuserConnectionStringAsync());
        await connection.OpenAsync();
        return connection;
    }

    private static async Task<List<(int Version, DateTime AppliedAt)>> ReadAppliedAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            $"SELECT version, installed_on FROM {SchemaMigrator.ChangelogTable} WHERE name LIKE 'V%' AND success ORDER BY id", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var applied = new List<(int, DateTime)>();
        while (await reader.ReadAsync())
        {
            applied.Add((int.Parse(reader.GetString(0), System.Globalization.CultureInfo.InvariantCulture), reader.GetDateTime(1)));
        }
        return applied;
    }

    private async Task DropDatabaseAsync(NpgsqlConnectionStringBuilder database)
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = await OpenMaintenanceConnectionAsync();
        await using var command = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database.Database}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
    }
}
