namespace AiStreaming.Identity.Authorization;

/// <summary>The applications allowed to sign in here, bound from <c>Identity:Clients</c> (the AppHost passes Web's).</summary>
public sealed class ClientOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Identity";

    /// <summary>The clients (<c>Identity:Clients:0:ClientId</c>, …).</summary>
    public List<Client> Clients { get; set; } = [];

    /// <summary>One confidential client: authorization code flow with PKCE.</summary>
    public sealed class Client
    {
        /// <summary>The client id (<c>web</c>).</summary>
        public string ClientId { get; set; } = "";

        /// <summary>The client secret (the AppHost generates one per run).</summary>
        public string ClientSecret { get; set; } = "";

        /// <summary>Absolute callback URLs (<c>http://localhost:5183/signin-oidc</c>).</summary>
        public List<Uri> RedirectUris { get; set; } = [];

        /// <summary>Absolute URLs the end-session endpoint may return to (<c>…/signout-callback-oidc</c>).</summary>
        public List<Uri> PostLogoutRedirectUris { get; set; } = [];
    }
}
