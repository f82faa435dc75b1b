using AiStreaming.AppHost.LocalServers;

namespace AiStreaming.AppHost;

/// <summary>
/// Where Web signs its users in. Run mode: the development OpenID Connect provider of this repository (<c>Identity/</c>,
/// OpenIddict), with its data in an <c>identitydb</c> database of the local PostgreSQL and Web as its one client, with a
/// client secret generated per run. Publish mode: Microsoft Entra ID (<c>Oidc__Provider=EntraId</c>, the default) or any
/// OIDC authority, from the parameters <c>oidc-provider</c>, <c>oidc-authority</c>, <c>oidc-client-id</c> and the secret
/// <c>oidc-client-secret</c> (docs/deploy.md).
/// </summary>
public static class SignIn
{
    /// <summary>Gives <paramref name="web"/> its OpenID Connect settings (<c>Oidc__*</c>), adding the local provider in run mode.</summary>
    /// <param name="web">The Web project.</param>
    /// <param name="localPostgres">The local PostgreSQL server in run mode; <see langword="null"/> in publish mode.</param>
    /// <returns><paramref name="web"/>.</returns>
    public static IResourceBuilder<ProjectResource> WithSignIn(
        this IResourceBuilder<ProjectResource> web, IResourceBuilder<LocalPostgresServerResource>? localPostgres)
    {
        var builder = web.ApplicationBuilder;
        if (localPostgres is null)
        {
            return web.WithEnvironment("Oidc__Provider", builder.AddParameter("oidc-provider", "EntraId"))
                .WithEnvironment("Oidc__Authority", builder.AddParameter("oidc-authority"))
                .WithEnvironment("Oidc__ClientId", builder.AddParameter("oidc-client-id"))
                .WithEnvironment("Oidc__ClientSecret", builder.AddParameter("oidc-client-secret", secret: true));
        }

        var clientSecret = builder.AddParameter("web-client-secret", new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true);
        var identityDatabase = localPostgres.AddDatabase("identitydb");
        var identity = builder.AddProject<Projects.Identity>("identity")
            .WithReference(identityDatabase)
            .WithEnvironment("Identity__Clients__0__ClientId", "web")
            .WithEnvironment("Identity__Clients__0__ClientSecret", clientSecret)
            .WithEnvironment("Identity__Clients__0__RedirectUris__0", ReferenceExpression.Create($"{web.GetEndpoint("http")}/signin-oidc"))
            .WithEnvironment("Identity__Clients__0__PostLogoutRedirectUris__0", ReferenceExpression.Create($"{web.GetEndpoint("http")}/signout-callback-oidc"))
            .WithHttpHealthCheck("/health")
            .WaitFor(identityDatabase);
        return web.WithEnvironment("Oidc__Authority", identity.GetEndpoint("http"))
            .WithEnvironment("Oidc__ClientId", "web")
            .WithEnvironment("Oidc__ClientSecret", clientSecret)
            .WaitFor(identity);
    }
}
