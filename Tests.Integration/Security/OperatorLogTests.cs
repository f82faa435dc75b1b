using System.Collections.Concurrent;
using System.Net;
using AiStreaming.Tests.Api;
using AiStreaming.Tests.Infrastructure;
using AiStreaming.Tests.Streamer;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AiStreaming.Tests.Security;

/// <summary>
/// Logs an operator can read (issue 22, item 6): no Npgsql statement at Information, a Redis outage reported once by
/// readiness at Warning without a stack trace (and its end once), a planned drain not reported as a failure.
/// </summary>
[Collection(ServersCollection.Name)]
public class OperatorLogTests(ServersFixture servers)
{
    [Fact]
    public async Task Npgsql_statements_are_not_logged_at_information()
    {
        await using var api = new ApiFactory(servers, new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Information" });
        api.CreateClient();
        var loggers = api.Services.GetRequiredService<ILoggerFactory>();

        Assert.False(loggers.CreateLogger("Npgsql.Command").IsEnabled(LogLevel.Information));
        Assert.True(loggers.CreateLogger("Npgsql.Command").IsEnabled(LogLevel.Warning));
        Assert.True(loggers.CreateLogger("AiStreaming.Api.Outbox.OutboxRelay").IsEnabled(LogLevel.Information));
    }

    [Fact]
    public async Task A_redis_outage_is_logged_once_by_readiness_at_warning_without_a_stack_trace_and_its_end_once()
    {
        await using var redis = await OwnRedis.StartNewAsync();
        var logs = new LogCollector();
        await using var api = new ApiFactory(servers, new Dictionary<string, string?>
        {
            ["ConnectionStrings:redis"] = redis.ConnectionString,
            ["Logging:LogLevel:Default"] = "Information",
        })
            .WithWebHostBuilder(b => b.ConfigureLogging(l => l.AddProvider(logs)));
        var http = api.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);

        redis.Kill();
        for (var probes = 0; probes < 3;)
        {
            probes += (await http.GetAsync("/health")).StatusCode == HttpStatusCode.ServiceUnavailable ? 1 : 0;
        }
        await redis.StartAsync();
        await Eventually.UntilAsync(async () => (await http.GetAsync("/health")).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(20), "readiness to recover");

        var health = logs.Where(e => e.Category.Contains("Health", StringComparison.Ordinal)).ToList();
        var outage = Assert.Single(health, e => e.Level >= LogLevel.Warning);
        Assert.Equal(LogLevel.Warning, outage.Level);
        Assert.Contains("redis", outage.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Null(outage.Exception);
        Assert.Single(health, e => e.Level == LogLevel.Information && e.Message.Contains("healthy again", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_planned_drain_is_not_logged_as_a_failed_readiness_check()
    {
        var logs = new LogCollector();
        await using var streamer = new StreamerFactory(servers.RedisConnectionString + ",abortConnect=false", TimeSpan.FromSeconds(2))
            .WithWebHostBuilder(b => b.UseSetting("Logging:LogLevel:Default", "Information").ConfigureLogging(l => l.AddProvider(logs)));
        var http = streamer.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health")).StatusCode);

        var stopping = Task.Run(streamer.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication);
        await Eventually.UntilAsync(async () => (await http.GetAsync("/health")).StatusCode == HttpStatusCode.ServiceUnavailable,
            TimeSpan.FromSeconds(5), "readiness to fail");
        await http.GetAsync("/health");
        await stopping;

        var health = logs.Where(e => e.Category.Contains("Health", StringComparison.Ordinal)).ToList();
        Assert.DoesNotContain(health, e => e.Level >= LogLevel.Warning);
        var drain = Assert.Single(health);
        Assert.Contains("drain", drain.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Admission_slot_renewal_reports_a_redis_outage_once_without_an_empty_message_id()
    {
        await using var redis = await OwnRedis.StartNewAsync();
        var logs = new LogCollector();
        var settings = ApiFactory.Slow(3, ("Generation:MaxConcurrentPerModel", "1"), ("ConnectionStrings:redis", redis.ConnectionString));
        await using var api = new ApiFactory(servers, settings).WithWebHostBuilder(b => b.ConfigureLogging(l => l.AddProvider(logs)));
        var http = api.CreateClient();
        var id = await http.CreateConversationAsync();
        var accepted = await http.PostAcceptedAsync(id, "hold a slot");
        await Eventually.UntilAsync(async () => (await http.GetMessageAsync(id, accepted.MessageId)).Content.Length > 0,
            TimeSpan.FromSeconds(10), "the reply to stream");

        redis.Kill();
        await Eventually.UntilAsync(() => logs.Any(e => e.Message.Contains("not renewed", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(10), "the renewal to report the outage");
        // Three failed readiness probes (each waits for Redis's timeout): many renewal ticks (every 250 ms) in the outage.
        for (var probes = 0; probes < 3;)
        {
            probes += (await http.GetAsync("/health")).StatusCode == HttpStatusCode.ServiceUnavailable ? 1 : 0;
        }
        await redis.StartAsync();
        await Eventually.UntilAsync(async () => (await http.GetMessageAsync(id, accepted.MessageId)).Status != AiStreaming.Api.Generation.MessageStatus.Streaming,
            TimeSpan.FromSeconds(30), "the reply to end");

        Assert.DoesNotContain(logs, e => e.Message.Contains(Guid.Empty.ToString(), StringComparison.Ordinal));
        var renewal = Assert.Single(logs, e => e.Message.Contains("not renewed", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Warning, renewal.Level);
        Assert.Null(renewal.Exception);
    }

    /// <summary>One log record.</summary>
    private sealed record Entry(string Category, LogLevel Level, string Message, Exception? Exception);

    /// <summary>Keeps every record at Information or above.</summary>
    private sealed class LogCollector : ILoggerProvider, IEnumerable<Entry>
    {
        private readonly ConcurrentQueue<Entry> _entries = new();

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

        public void Dispose()
        {
        }

        public IEnumerator<Entry> GetEnumerator() => _entries.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        private sealed class Logger(string category, ConcurrentQueue<Entry> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                entries.Enqueue(new Entry(category, logLevel, formatter(state, exception), exception));
        }
    }
}
