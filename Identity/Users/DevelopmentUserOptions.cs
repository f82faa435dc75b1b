namespace AiStreaming.Identity.Users;

/// <summary>The development users, bound from the <c>Identity</c> configuration section.</summary>
public sealed class DevelopmentUserOptions
{
    /// <summary>Configuration section name.</summary>
    public const string SectionName = "Identity";

    /// <summary>
    /// Whether the login page may create an account for a name nobody has yet (the end-to-end tests sign in as many
    /// users this way). A name that exists signs in only with its password. Default false.
    /// </summary>
    public bool AllowRegistration { get; set; }

    /// <summary>Users created, or whose password is reset, at start (<c>Identity:Users:0:UserName</c>, <c>…:Password</c>).</summary>
    public List<SeededUser> Users { get; set; } = [];

    /// <summary>A user from configuration.</summary>
    public sealed class SeededUser
    {
        /// <summary>The user name (<see cref="DevelopmentUser.IsValidUserName"/>).</summary>
        public string UserName { get; set; } = "";

        /// <summary>The password, in clear: development only.</summary>
        public string Password { get; set; } = "";
    }
}
