using System.Net;
using AiStreaming.Channels;
using AiStreaming.Tests.Aspire;
using AiStreaming.Tests.EndToEnd;
using AiStreaming.Tests.Infrastructure;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace AiStreaming.Tests.Security;

/// <summary>
/// Rejected client input is logged once without a stack trace; no secret (JWT key, Redis and PostgreSQL passwords)
/// reaches a log line or a process argument; Redis needs its password and PostgreSQL serves the Api as a non-superuser;
/// the .NET services started as root run as nobody.
/// </summary>
[Collection(StackCollection.Name)]
public class LogHygieneTests(StackFixture stack)
{
    [Fact]
    public async Task Rejected_subscribes_are_logged_once_each_without_a_stack_trace()
    {
        var marker = $"conv:{Guid.NewGuid():N}";
        var replica = stack.StreamerIds[0];
        var streamer = stack.App.ReplicaUri(replica);
        await using var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(streamer, "/hubs/stream"), options =>
            {
                options.Transports = HttpTransportType.WebSockets;
                options.AccessTokenProvider = () => Task.FromResult<string?>(TestAuth.Bearer("dev:mallory").Parameter);
            })
            .Build();
        await connection.StartAsync();
        const int attempts = 20;
        for (var i = 0; i < attempts; i++)
        {
            await Assert.ThrowsAsync<HubException>(async () =>
            {
                await foreach (var _ in connection.StreamAsync<ChannelEvent>("Subscribe", marker, null, null, "bad-token"))
                {
                }
            });
        }

        // The replica's output is read asynchronously: wait for the lines to arrive.
        await Eventually.UntilAsync(
            async () => (await stack.App.GetLogsAsync(replica)).Count(l => l.Contains(marker, StringComparison.Ordinal)) >= attempts,
            TimeSpan.FromSeconds(10), "the refusals in the streamer's log");
        var logs = await stack.App.GetLogsAsync(replica);
        var mentions = logs.Where(l => l.Contains(marker, StringComparison.Ordinal)).ToList();
        Assert.Equal(attempts, mentions.Count);
        Assert.All(mentions, l => Assert.Contains("forbidden", l));
        Assert.DoesNotContain(logs, l => l.Contains("HubException", StringComparison.Ordinal) || l.TrimStart().StartsWith("at Microsoft.AspNetCore.SignalR", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Redis_refuses_clients_without_the_password_and_runs_as_an_unprivileged_user()
    {
        var options = StackExchange.Redis.ConfigurationOptions.Parse((await stack.App.GetConnectionStringAsync("redis"))!);
        options.Password = null;
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 2000;
        await using var anonymous = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(options);
        await Assert.ThrowsAnyAsync<StackExchange.Redis.RedisException>(() => anonymous.GetDatabase().StringSetAsync("forged", "1"));

        var pid = stack.ProcessIdOf((await stack.App.ReplicaIdsAsync("redis")).Single());
        Assert.NotNull(pid);
        var uid = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
        Assert.DoesNotMatch(@"^Uid:\s+0\s", uid);
    }

    [Fact]
    public async Task The_dotnet_services_started_as_root_run_as_nobody()
    {
        if (Environment.UserName != "root")
        {
            return; // the AppHost drops nothing when it is not root (this machine and CI run as root)
        }
        // The services' files must be reachable by nobody (a clone under /root is not: then root is kept, with a Warning).
        var reachable = true;
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            reachable &= (folder.UnixFileMode & UnixFileMode.OtherExecute) != 0;
        }
        foreach (var replica in stack.ApiIds.Concat(stack.StreamerIds).Concat(await stack.App.ReplicaIdsAsync("web")))
        {
            var pid = stack.ProcessIdOf(replica);
            Assert.NotNull(pid);
            var uid = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
            if (reachable)
            {
                Assert.Matches(@"^Uid:\s+65534\s+65534\s+65534\s+65534$", uid);
                Assert.Contains(await stack.App.GetLogsAsync(replica), l => l.Contains("Root privileges dropped: running as nobody", StringComparison.Ordinal));
            }
            else
            {
                Assert.Contains(await stack.App.GetLogsAsync(replica), l => l.Contains("Root privileges not dropped", StringComparison.Ordinal));
            }
        }
    }

    [Fact]
    public async Task The_api_connects_to_postgresql_as_the_database_owner_not_a_superuser()
    {
        await using var connection = new Npgsql.NpgsqlConnection(stack.MessagesConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            "SELECT current_user, r.rolsuper, pg_get_userbyid(d.datdba), pg_get_userbyid(c.relowner) "
            + "FROM pg_roles r, pg_database d, pg_class c WHERE r.rolname = current_user AND d.datname = current_database() AND c.relname = 'conversations'",
            connection);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.NotEqual("postgres", reader.GetString(0));
        Assert.False(reader.GetBoolean(1));
        Assert.Equal(reader.GetString(0), reader.GetString(2));
        Assert.Equal(reader.GetString(0), reader.GetString(3));
    }

    [Fact]
    public async Task A_malformed_api_body_is_a_400_problem_logged_without_an_unhandled_exception()
    {
        var (conversationId, _) = await stack.CreateConversationAsync();
        using var content = new StringContent("{ not json", System.Text.Encoding.UTF8, "application/json");

        using var response = await stack.Web.PostAsync($"/api/conversations/{conversationId}/messages", content);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        foreach (var api in stack.ApiIds)
        {
            Assert.DoesNotContain(await stack.App.GetLogsAsync(api), l => l.Contains("unhandled exception", StringComparison.OrdinalIgnoreCase));
        }
    }

    [Fact]
    public async Task No_secret_appears_in_any_log_line_or_process_argument()
    {
        var redis = StackExchange.Redis.ConfigurationOptions.Parse((await stack.App.GetConnectionStringAsync("redis"))!);
        var messages = new Npgsql.NpgsqlConnectionStringBuilder(stack.MessagesConnectionString);
        var server = new Npgsql.NpgsqlConnectionStringBuilder((await stack.App.GetConnectionStringAsync("postgres"))!);
        var secrets = new List<string> { TestAuth.SigningKey, redis.Password!, messages.Password!, server.Password! };
        // Long enough that no log line holds one by chance (Aspire generates passwords of 22 characters).
        Assert.All(secrets, secret => Assert.True(secret.Length >= 22, "every secret is set"));
        // Every process of the application: the servers, their initdb and cluster-create helpers, every replica.
        var resources = stack.App.Services.GetRequiredService<DistributedApplicationModel>().Resources
            .Where(r => r is ProjectResource or ExecutableResource).Select(r => r.Name).ToList();
        Assert.Contains("redis", resources);
        Assert.Contains("postgres", resources);
        foreach (var resource in resources)
        {
            foreach (var replica in await stack.App.ReplicaIdsAsync(resource))
            {
                var logs = await stack.App.GetLogsAsync(replica);
                foreach (var secret in secrets)
                {
                    Assert.DoesNotContain(logs, l => l.Contains(secret, StringComparison.Ordinal));
                }
                if (stack.ProcessIdOf(replica) is { } pid && File.Exists($"/proc/{pid}/cmdline"))
                {
                    var arguments = File.ReadAllText($"/proc/{pid}/cmdline");
                    Assert.All(secrets, secret => Assert.DoesNotContain(secret, arguments, StringComparison.Ordinal));
                }
            }
        }
    }
}
