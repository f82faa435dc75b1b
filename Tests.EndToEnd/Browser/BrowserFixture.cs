using Microsoft.Playwright;

namespace AiStreaming.Tests.Browser;

/// <summary>
/// Playwright for .NET driving Debian's Chromium (<c>/usr/bin/chromium</c>, installed by scripts/install-deps.sh
/// --browser): never a downloaded browser build.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    /// <summary>Debian's Chromium.</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    /// <summary>The launched browser.</summary>
    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: run ./scripts/install-deps.sh --browser (apt-get install chromium).");
        }
        _playwright = await Playwright.CreateAsync();
        List<string> args = ["--disable-background-networking", "--disable-component-update", "--disable-gpu", "--no-first-run"];
        if (Environment.UserName == "root")
        {
            args.Add("--no-sandbox"); // Chromium refuses to run its sandbox as root
        }
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = args,
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }
        _playwright?.Dispose();
    }
}
