using AiStreaming.AppHost.LocalServers;
using AiStreaming.Tests.Infrastructure;
using Npgsql;

namespace AiStreaming.Tests.AppHost;

/// <summary>
/// The local PostgreSQL resource's database (<c>AddPostgresServer("postgres").AddDatabase("messages")</c>, the
/// servers fixture): owned by its own role, which is not a superuser, and the connection string Aspire hands the
/// services (<c>ConnectionStrings__messages</c>, the resource's connection string) logs in as that role.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class LocalPostgresTests(ServersFixture servers)
{
    [Fact]
    public async Task Messages_is_owned_by_messages_owner_a_non_superuser_that_the_connection_string_logs_in_as()
    {
        Assert.Equal("messages_owner", new NpgsqlConnectionStringBuilder(servers.MessagesConnectionString).Username);
        await using var connection = new NpgsqlConnection(servers.MessagesConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT current_user::text, current_database()::text, pg_get_userbyid(d.datdba)::text, r.rolsuper, r.rolcreatedb, r.rolcreaterole,
                   has_schema_privilege('public', 'CREATE')
            FROM pg_database d, pg_roles r
            WHERE d.datname = current_database() AND r.rolname = current_user
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());

        Assert.Equal("messages_owner", reader.GetString(0));
        Assert.Equal("messages", reader.GetString(1));
        Assert.Equal("messages_owner", reader.GetString(2));
        Assert.False(reader.GetBoolean(3), "messages_owner is a superuser");
        Assert.True(reader.GetBoolean(4), "messages_owner may not create databases (the Api creates a missing one)");
        Assert.False(reader.GetBoolean(5), "messages_owner may create roles");
        Assert.True(reader.GetBoolean(6), "messages_owner may not create tables in public (the migrations need it)");
    }

    [Fact]
    public async Task The_owner_role_cannot_act_as_the_superuser()
    {
        await using var connection = new NpgsqlConnection(servers.MessagesConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SET ROLE {LocalPostgresServerResource.SuperUser}", connection);

        var error = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync());
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
    }
}
