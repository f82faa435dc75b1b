using AiStreaming.Identity.Data;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace AiStreaming.Identity.Authorization;

/// <summary>
/// The OpenIddict server: OpenID Connect discovery, authorization code flow with PKCE (S256 required), token and
/// end-session endpoints, scopes <c>openid</c> and <c>profile</c>; its stores in <see cref="IdentityDbContext"/>.
/// </summary>
public static partial class AuthorizationServerExtensions
{
    /// <summary>
    /// Adds OpenIddict's core (EF Core stores), its server and the seeding of <see cref="ClientOptions"/>.
    /// Signing and encryption keys are ephemeral: tokens issued here live minutes, Web checks an ID token only while
    /// signing in, and a restart only ends sign-ins in flight. HTTP is allowed: the provider runs only in Development.
    /// </summary>
    public static IHostApplicationBuilder AddAuthorizationServer(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ClientOptions>().BindConfiguration(ClientOptions.SectionName)
            .Validate(o => o.Clients.All(c => c.ClientId.Length > 0 && c.ClientSecret.Length > 0 && c.RedirectUris.All(u => u.IsAbsoluteUri)),
                "Identity:Clients: each client needs a ClientId, a ClientSecret and absolute RedirectUris.")
            .ValidateOnStart();
        builder.Services.AddOpenIddict()
            .AddCore(core => core.UseEntityFrameworkCore().UseDbContext<IdentityDbContext>())
            .AddServer(server =>
            {
                server.SetAuthorizationEndpointUris("connect/authorize")
                    .SetTokenEndpointUris("connect/token")
                    .SetEndSessionEndpointUris("connect/endsession");
                server.AllowAuthorizationCodeFlow().RequireProofKeyForCodeExchange();
                server.RegisterScopes(Scopes.OpenId, Scopes.Profile);
                server.AddEphemeralEncryptionKey().AddEphemeralSigningKey();
                server.DisableAccessTokenEncryption();
                server.UseAspNetCore()
                    .EnableAuthorizationEndpointPassthrough()
                    .EnableEndSessionEndpointPassthrough()
                    .DisableTransportSecurityRequirement();
            });
        builder.Services.AddHostedService<ClientSeeder>();
        return builder;
    }

    /// <summary>Creates or updates each configured client at start (the secret and URLs change with each AppHost run).</summary>
    private sealed partial class ClientSeeder(IServiceScopeFactory services, IOptions<ClientOptions> options, ILogger<ClientSeeder> logger) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await using var scope = services.CreateAsyncScope();
            var manager = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
            foreach (var client in options.Value.Clients)
            {
                var descriptor = new OpenIddictApplicationDescriptor
                {
                    ClientId = client.ClientId,
                    ClientSecret = client.ClientSecret,
                    ClientType = ClientTypes.Confidential,
                    ConsentType = ConsentTypes.Implicit,
                    DisplayName = client.ClientId,
                    Permissions =
                    {
                        Permissions.Endpoints.Authorization,
                        Permissions.Endpoints.Token,
                        Permissions.Endpoints.EndSession,
                        Permissions.GrantTypes.AuthorizationCode,
                        Permissions.ResponseTypes.Code,
                        Permissions.Scopes.Profile,
                    },
                    Requirements = { Requirements.Features.ProofKeyForCodeExchange },
                };
                descriptor.RedirectUris.UnionWith(client.RedirectUris);
                descriptor.PostLogoutRedirectUris.UnionWith(client.PostLogoutRedirectUris);
                if (await manager.FindByClientIdAsync(client.ClientId, cancellationToken) is { } existing)
                {
                    await manager.UpdateAsync(existing, descriptor, cancellationToken);
                }
                else
                {
                    await manager.CreateAsync(descriptor, cancellationToken);
                }
                LogClient(logger, client.ClientId, string.Join(", ", client.RedirectUris));
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(LogLevel.Information, "Registered client {ClientId} with redirect URIs {RedirectUris}")]
        private static partial void LogClient(ILogger logger, string clientId, string redirectUris);
    }
}
