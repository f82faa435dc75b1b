using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using AiStreaming.Tests.Infrastructure;

namespace AiStreaming.Tests.Security;

/// <summary>
/// Each service starts in Production with exactly the settings infra/resources.bicep gives its container app (issue 22,
/// item 7): names read from the Bicep, values pointing at the local Redis and PostgreSQL. It answers <c>/health</c> for
/// its deployed host name, and takes no development shortcut: without any one deployed setting it does not start (or,
/// without <c>AllowedHosts</c>, refuses its deployed host name), and it refuses a user token it did not get from Web.
/// </summary>
[Collection(ServersCollection.Name)]
public partial class ProductionStartTests(ServersFixture servers)
{
    private static readonly string RepositoryRoot = FindRepositoryRoot();

    [Theory]
    [InlineData("api", "Api")]
    [InlineData("streamer", "Streamer")]
    [InlineData("web", "Web")]
    public async Task Service_starts_in_production_with_the_deployed_settings_and_answers_health(string app, string project)
    {
        var settings = DeployedSettings(app).ToDictionary(s => s.Name, s => LocalValue(s));
        await using var service = await ServiceProcess.StartAsync(project, settings);

        await service.WaitUntilHealthyAsync(HostOf(app));

        if (app == "web")
        {
            // No development sign-in: the "type any name" form is gone, and a posted name signs nobody in. (Where sign-in
            // goes instead, the authority's login page, needs the authority's metadata: Tests.Integration's Web tests.)
            using var posted = new HttpRequestMessage(HttpMethod.Post, "/account/signin") { Content = new FormUrlEncodedContent([new("Name", "alice")]) };
            posted.Headers.Host = HostOf(app);
            using var postedAnswer = await service.Http.SendAsync(posted);
            Assert.False(postedAnswer.IsSuccessStatusCode, $"a posted name was answered {postedAnswer.StatusCode}");
            Assert.DoesNotContain(
                postedAnswer.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : [],
                cookie => cookie.StartsWith(AiStreaming.Web.Security.WebAuthExtensions.CookieName, StringComparison.Ordinal));
            return;
        }

        // No development authentication: a user token signed with another key is refused.
        using var request = new HttpRequestMessage(HttpMethod.Get, app == "streamer" ? "/hubs/stream/negotiate?negotiateVersion=1" : "/api/conversations");
        request.Headers.Host = HostOf(app);
        var forged = new AiStreaming.Channels.Security.AuthOptions { SigningKey = Convert.ToBase64String(new byte[32]) };
        request.Headers.Authorization = new("Bearer", new AiStreaming.Channels.Security.UserTokens(forged, TimeProvider.System).Issue("mallory", "mallory"));
        if (app == "streamer")
        {
            request.Method = HttpMethod.Post;
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await service.Http.SendAsync(request)).StatusCode);
    }

    [Theory]
    [InlineData("api", "Api")]
    [InlineData("streamer", "Streamer")]
    [InlineData("web", "Web")]
    public async Task Service_needs_every_deployed_setting(string app, string project)
    {
        // Optional ones: the streamer's origins and proxies, and Web's provider kind (Generic when unset).
        var deployed = DeployedSettings(app).Where(s => !s.Name.StartsWith("StreamerSecurity__", StringComparison.Ordinal) && s.Name != "Oidc__Provider").ToList();
        foreach (var missing in deployed)
        {
            var settings = deployed.Where(s => s != missing).ToDictionary(s => s.Name, s => LocalValue(s));
            await using var service = await ServiceProcess.StartAsync(project, settings);
            if (missing.Name == "AllowedHosts")
            {
                // The appsettings.json default admits loopback names only: the deployed host name gets 400.
                await service.WaitUntilHealthyAsync("127.0.0.1");
                using var request = new HttpRequestMessage(HttpMethod.Get, "/health");
                request.Headers.Host = HostOf(app);
                Assert.Equal(HttpStatusCode.BadRequest, (await service.Http.SendAsync(request)).StatusCode);
            }
            else
            {
                var exitCode = await service.WaitForExitAsync(TimeSpan.FromSeconds(60));
                Assert.True(exitCode != 0, $"{project} started without {missing.Name}.");
            }
        }
    }

    /// <summary>An environment variable infra/resources.bicep gives a container app.</summary>
    /// <param name="Name">The variable.</param>
    /// <param name="Literal">Its value when the Bicep writes a string literal; <see langword="null"/> for a secret or an expression.</param>
    /// <param name="SecretRef">The Container Apps secret it comes from, if any.</param>
    private sealed record DeployedSetting(string Name, string? Literal, string? SecretRef);

    /// <summary>The environment of app <paramref name="app"/> (the <c>module {app}</c> block of infra/resources.bicep).</summary>
    private static IReadOnlyList<DeployedSetting> DeployedSettings(string app)
    {
        var bicep = File.ReadAllText(Path.Combine(RepositoryRoot, "infra", "resources.bicep"));
        var start = bicep.IndexOf($"\nmodule {app} 'app/container-app.bicep'", StringComparison.Ordinal);
        Assert.True(start >= 0, $"infra/resources.bicep has no module {app}.");
        var end = bicep.IndexOf("\n}", start, StringComparison.Ordinal);
        var block = bicep[start..end];
        var env = block[block.IndexOf("env:", StringComparison.Ordinal)..];
        return [.. EnvEntry().Matches(env).Select(m => new DeployedSetting(
            m.Groups["name"].Value,
            m.Groups["literal"].Success ? m.Groups["literal"].Value : null,
            m.Groups["secret"].Success ? m.Groups["secret"].Value : null))];
    }

    [GeneratedRegex(@"\{\s*name:\s*'(?<name>[A-Za-z0-9_]+)'\s*,\s*(?:value:\s*(?:'(?<literal>[^'$]*)'|(?<expression>[^}]+))|secretRef:\s*'(?<secret>[^']+)')\s*\}")]
    private static partial Regex EnvEntry();

    // The local stand-in of each deployed value: the fixture's servers, the tests' key, literals as deployed.
    private string LocalValue(DeployedSetting setting) => setting.Name switch
    {
        "ConnectionStrings__redis" => servers.RedisConnectionString,
        "ConnectionStrings__messages" => servers.MessagesConnectionString,
        "Auth__SigningKey" => TestAuth.SigningKey,
        // An https authority that answers no one: Web must start without reaching it (it fetches metadata on a challenge).
        "Oidc__Authority" => "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0",
        "Oidc__Provider" => "EntraId",
        "Oidc__ClientId" => "aistreaming-web",
        "Oidc__ClientSecret" => "local-client-secret",
        // Web resolves the tiers only when it proxies: any address lets it start.
        "services__api__http__0" => "http://127.0.0.1:9",
        "services__streamer__http__0" => "http://127.0.0.1:9",
        "StreamerSecurity__AllowedOrigins__0" => "https://web.example.azurecontainerapps.io",
        _ when setting.Literal is not null => setting.Literal,
        _ => throw new InvalidOperationException($"No local value for the deployed setting {setting.Name}: add one here."),
    };

    private static string HostOf(string app) => $"{app}.internal.example.azurecontainerapps.io";

    private static string FindRepositoryRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "AiStreaming.sln")))
        {
            folder = folder.Parent;
        }
        return folder?.FullName ?? throw new InvalidOperationException("AiStreaming.sln not found above the test's folder.");
    }

    /// <summary>A service run from its own build output (<c>dotnet {Project}.dll</c>) with only the given settings.</summary>
    private sealed class ServiceProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        private ServiceProcess(Process process, int port)
        {
            _process = process;
            Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        }

        public HttpClient Http { get; }

        public static Task<ServiceProcess> StartAsync(string project, IReadOnlyDictionary<string, string> settings)
        {
            // The build configuration and framework of this test run: bin/{Configuration}/{tfm}/.
            var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var output = Path.Combine(RepositoryRoot, project, "bin", testOutput.Parent!.Name, testOutput.Name);
            var port = FreePort();
            var start = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = output,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.ArgumentList.Add(Path.Combine(output, $"{project}.dll"));
            // Only what the deployment sets, nothing inherited from the test run.
            foreach (var name in start.Environment.Keys.ToList())
            {
                if (name.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || name.StartsWith("DOTNET_", StringComparison.Ordinal)
                    || name.Contains("__", StringComparison.Ordinal) || name.StartsWith("OTEL_", StringComparison.Ordinal))
                {
                    start.Environment.Remove(name);
                }
            }
            start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
            start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
            foreach (var (name, value) in settings)
            {
                start.Environment[name] = value;
            }
            var service = new ServiceProcess(Process.Start(start)!, port);
            service._process.OutputDataReceived += (_, e) => service.Append(e.Data);
            service._process.ErrorDataReceived += (_, e) => service.Append(e.Data);
            service._process.BeginOutputReadLine();
            service._process.BeginErrorReadLine();
            return Task.FromResult(service);
        }

        public async Task WaitUntilHealthyAsync(string host)
        {
            try
            {
                await Eventually.UntilAsync(async () =>
                {
                    Assert.False(_process.HasExited, $"The service exited: {Output}");
                    try
                    {
                        using var request = new HttpRequestMessage(HttpMethod.Get, "/health");
                        request.Headers.Host = host;
                        return (await Http.SendAsync(request)).StatusCode == HttpStatusCode.OK;
                    }
                    catch (HttpRequestException)
                    {
                        return false;
                    }
                }, TimeSpan.FromSeconds(90), "/health to answer 200");
            }
            catch (TimeoutException ex)
            {
                throw new TimeoutException($"{ex.Message} Output: {Output}", ex);
            }
        }

        public async Task<int> WaitForExitAsync(TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            await _process.WaitForExitAsync(cts.Token);
            return _process.ExitCode;
        }

        private string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        private void Append(string? line)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
            _process.Dispose();
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
