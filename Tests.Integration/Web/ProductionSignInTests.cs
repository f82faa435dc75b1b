using System.Net;
using AiStreaming.Tests.Infrastructure;
using AiStreaming.Web.Security;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace AiStreaming.Tests.Web;

/// <summary>
/// Web as deployed (<c>ASPNETCORE_ENVIRONMENT=Production</c>), in memory through <see cref="WebApplicationFactory{TEntryPoint}"/>
/// against the fixture's Redis: the only way in is the configured OpenID Connect authority.
/// </summary>
[Collection(ServersCollection.Name)]
public sealed class ProductionSignInTests(ServersFixture servers)
{
    private const string AuthorizeEndpoint = "https://login.example.test/tenant/oauth2/v2.0/authorize";

    [Fact]
    public void Production_web_refuses_to_start_without_an_oidc_authority()
    {
        using var web = new WebFactory(servers, new() { ["Oidc:Authority"] = null });

        var failure = Assert.Throws<OptionsValidationException>(() => web.CreateClient());

        Assert.Contains("Oidc:Authority is required", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Production_web_refuses_an_http_authority()
    {
        using var web = new WebFactory(servers, new() { ["Oidc:Authority"] = "http://login.example.test/tenant/v2.0" });

        var failure = Assert.Throws<OptionsValidationException>(() => web.CreateClient());

        Assert.Contains("Oidc:Authority must be an absolute https URL", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Production_web_has_no_development_sign_in_a_posted_name_gets_no_cookie_and_sign_in_goes_to_the_authority()
    {
        using var web = new WebFactory(servers);
        using var http = web.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });

        // What the development page took: a display name posted to /account/signin.
        using var posted = await http.PostAsync("/account/signin", new FormUrlEncodedContent(new Dictionary<string, string> { ["Name"] = "alice", ["ReturnUrl"] = "/" }));
        Assert.Contains(posted.StatusCode, new[] { HttpStatusCode.NotFound, HttpStatusCode.MethodNotAllowed });
        Assert.DoesNotContain(posted.Headers.TryGetValues("Set-Cookie", out var set) ? set : [], c => c.StartsWith(WebAuthExtensions.CookieName, StringComparison.Ordinal));

        // Signing in, and the chat page, go to the authority with an authorization code request and PKCE.
        foreach (var path in new[] { "/account/signin", "/" })
        {
            using var response = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            var location = response.Headers.Location!.ToString();
            Assert.StartsWith(AuthorizeEndpoint + "?", location, StringComparison.Ordinal);
            Assert.Contains("response_type=code", location, StringComparison.Ordinal);
            Assert.Contains("code_challenge_method=S256", location, StringComparison.Ordinal);
            Assert.Contains("client_id=web", location, StringComparison.Ordinal);
        }
    }

    /// <summary>Web in Production with every setting it needs, <paramref name="overrides"/> on top (null removes a key).</summary>
    private sealed class WebFactory(ServersFixture servers, Dictionary<string, string?>? overrides = null) : WebApplicationFactory<OidcOptions>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment("Production");
            var settings = new Dictionary<string, string?>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "",
                ["Logging:LogLevel:Default"] = "Warning",
                ["Auth:SigningKey"] = TestAuth.SigningKey,
                ["ConnectionStrings:redis"] = servers.RedisConnectionString,
                ["services:api:http:0"] = "http://127.0.0.1:9",
                ["services:streamer:http:0"] = "http://127.0.0.1:9",
                ["Oidc:Provider"] = "Generic",
                ["Oidc:Authority"] = "https://login.example.test/tenant/v2.0",
                ["Oidc:ClientId"] = "web",
                ["Oidc:ClientSecret"] = "secret",
            };
            foreach (var (key, value) in overrides ?? [])
            {
                settings[key] = value;
            }
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }
            // The authority's metadata as discovery would give it, so no test reaches the network.
            builder.ConfigureServices(services => services.PostConfigure<OpenIdConnectOptions>(OpenIdConnectDefaults.AuthenticationScheme, options =>
                options.ConfigurationManager = new StaticConfigurationManager<OpenIdConnectConfiguration>(
                    new OpenIdConnectConfiguration { Issuer = "https://login.example.test/tenant/v2.0", AuthorizationEndpoint = AuthorizeEndpoint })));
        }
    }
}
