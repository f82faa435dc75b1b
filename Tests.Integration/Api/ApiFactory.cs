extern alias api;

using AiStreaming.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace AiStreaming.Tests.Api;

/// <summary>
/// The Api hosted in memory (<see cref="WebApplicationFactory{TEntryPoint}"/>, its real <c>Program.cs</c>) against the
/// fixture's Redis and PostgreSQL, with a fast simulated model. Settings are <see cref="Defaults"/> overlaid with the
/// test's <paramref name="overrides"/> (configuration keys such as <c>Generation:FirstTokenTimeout</c>).
/// </summary>
/// <remarks>
/// <c>api::Program</c> is the Api's entry point: the Streamer and the AppHost have a top-level <c>Program</c> too, so the
/// Api is also referenced under the extern alias <c>api</c> (Tests.Integration.csproj).
/// </remarks>
/// <param name="servers">Redis and PostgreSQL.</param>
/// <param name="overrides">Settings of this test (a <see langword="null"/> value restores the Api's own default).</param>
/// <param name="messagesConnectionString">Another PostgreSQL database than the fixture's <c>messages</c>.</param>
public sealed class ApiFactory(
    ServersFixture servers, IReadOnlyDictionary<string, string?>? overrides = null, string? messagesConnectionString = null)
    : WebApplicationFactory<api::Program>
{
    /// <summary>Replies of 12–30 tokens at 400 tokens/s (≈ 30–75 ms); short timeouts for a quick shutdown.</summary>
    public static readonly IReadOnlyDictionary<string, string?> Defaults = new Dictionary<string, string?>
    {
        // The simulated model, even if the machine has a real one configured.
        ["ConnectionStrings:chat"] = "",
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "",
        ["SimulatedModel:TokensPerSecond"] = "400",
        ["SimulatedModel:TimeToFirstToken"] = "00:00:00",
        ["SimulatedModel:MinTokens"] = $"{MinTokens}",
        ["SimulatedModel:MaxTokens"] = $"{MaxTokens}",
        ["Generation:MaxPromptChars"] = $"{MaxPromptChars}",
        // Disposing the factory stops what still runs at once (it ends failed with generation_lost).
        ["Generation:DrainTimeout"] = "00:00:00",
        ["Outbox:PollInterval"] = "00:00:00.200",
        ["Logging:LogLevel:Default"] = "Warning",
        ["Auth:SigningKey"] = TestAuth.SigningKey,
        // Generous limits: tests that check them set their own.
        ["Limits:PostsPerMinute"] = "10000",
        ["Limits:MaxConcurrentGenerations"] = "1000",
    };

    /// <summary>
    /// Longest prompt accepted with <see cref="Defaults"/> (<c>Generation:MaxPromptChars</c>).
    /// </summary>
    public const int MaxPromptChars = 500;

    /// <summary>Fewest tokens of a reply with <see cref="Defaults"/>.</summary>
    public const int MinTokens = 12;

    /// <summary>Most tokens of a reply with <see cref="Defaults"/>.</summary>
    public const int MaxTokens = 30;

    /// <summary>Settings that make a reply stream for about <paramref name="seconds"/> seconds (50 tokens/s).</summary>
    /// <param name="seconds">Duration of the reply.</param>
    /// <param name="more">Further settings.</param>
    public static Dictionary<string, string?> Slow(int seconds, params (string Key, string? Value)[] more)
    {
        var settings = new Dictionary<string, string?>
        {
            ["SimulatedModel:TokensPerSecond"] = "50",
            ["SimulatedModel:MinTokens"] = $"{seconds * 50}",
            ["SimulatedModel:MaxTokens"] = $"{seconds * 50}",
        };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }
        return settings;
    }

    /// <summary>
    /// The host environment: <c>Development</c> by default, as the AppHost runs the Api (its launch profile,
    /// <c>Api/Properties/launchSettings.json</c>).
    /// </summary>
    public string Environment { get; init; } = "Development";

    /// <summary>
    /// The Api's clock, when the test drives it (e.g. a <c>FakeTimeProvider</c> started at the current time, so user
    /// tokens stay valid): timeouts, leases, flushes, relay intervals and the simulated model's pace all run on it.
    /// </summary>
    public TimeProvider? Time { get; init; }

    /// <summary>A client calling as <paramref name="userId"/> (a user token as Web attaches it).</summary>
    /// <param name="userId">User id (<c>sub</c>).</param>
    public HttpClient CreateClientFor(string userId)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = TestAuth.Bearer(userId);
        return client;
    }

    /// <summary>A client without credentials.</summary>
    public HttpClient CreateAnonymousClient()
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = null;
        return client;
    }

    /// <summary>Clients call as <see cref="TestAuth.DefaultUser"/> unless they say otherwise.</summary>
    /// <param name="client">The new client.</param>
    protected override void ConfigureClient(HttpClient client)
    {
        base.ConfigureClient(client);
        client.DefaultRequestHeaders.Authorization = TestAuth.Bearer(TestAuth.DefaultUser);
    }

    /// <inheritdoc/>
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(Environment);
        builder.UseSetting("ConnectionStrings:messages", messagesConnectionString ?? servers.MessagesConnectionString);
        builder.UseSetting("ConnectionStrings:redis", servers.RedisConnectionString);
        var settings = new Dictionary<string, string?>(Defaults);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }
        if (Time is { } time)
        {
            builder.ConfigureTestServices(services => services.AddSingleton(time));
        }
    }
}
