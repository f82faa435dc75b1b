using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace AiStreaming.Identity.Users;

/// <summary>The provider's own sign-in: users, their login cookie and the login page's settings.</summary>
public static partial class DevelopmentUserExtensions
{
    /// <summary>Name of the provider's login cookie (its own session, apart from Web's).</summary>
    public const string CookieName = ".AiStreaming.Identity";

    /// <summary>
    /// Adds <see cref="DevelopmentUserOptions"/> (validated on start), <see cref="UserDirectory"/>, the seeding of
    /// configured users, and cookie authentication with the login page at <c>/account/login</c>.
    /// </summary>
    /// <exception cref="InvalidOperationException">At start, outside Development: this provider is for development only.</exception>
    public static IHostApplicationBuilder AddDevelopmentUsers(this IHostApplicationBuilder builder)
    {
        if (!builder.Environment.IsDevelopment())
        {
            throw new InvalidOperationException(
                "The Identity project is a development identity provider and starts only in Development. Deployments sign in against Microsoft Entra ID or another OIDC authority (Oidc:Authority, docs/security.md).");
        }
        builder.Services.AddOptions<DevelopmentUserOptions>().BindConfiguration(DevelopmentUserOptions.SectionName)
            .Validate(o => o.Users.All(u => DevelopmentUser.IsValidUserName(u.UserName) && u.Password.Length > 0),
                "Identity:Users: each user needs a UserName of 1 to 40 letters, digits, spaces, '.', '-' or '_' and a Password.")
            .ValidateOnStart();
        builder.Services.AddSingleton<IPasswordHasher<DevelopmentUser>, PasswordHasher<DevelopmentUser>>();
        builder.Services.AddScoped<UserDirectory>();
        builder.Services.AddHostedService<UserSeeder>();
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(cookie =>
            {
                cookie.Cookie.Name = CookieName;
                cookie.Cookie.HttpOnly = true;
                cookie.Cookie.SameSite = SameSiteMode.Lax;
                cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                cookie.LoginPath = "/account/login";
                cookie.ExpireTimeSpan = TimeSpan.FromHours(8);
            });
        builder.Services.AddAuthorization();
        return builder;
    }

    /// <summary>Creates the configured users, or resets their passwords, at start.</summary>
    private sealed partial class UserSeeder(IServiceScopeFactory services, IOptions<DevelopmentUserOptions> options, ILogger<UserSeeder> logger) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await using var scope = services.CreateAsyncScope();
            var directory = scope.ServiceProvider.GetRequiredService<UserDirectory>();
            foreach (var user in options.Value.Users)
            {
                await directory.UpsertAsync(user.UserName, user.Password, cancellationToken);
            }
            LogSeeded(logger, options.Value.Users.Count, options.Value.AllowRegistration);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(LogLevel.Information, "Seeded {Count} development users; registration allowed: {AllowRegistration}")]
        private static partial void LogSeeded(ILogger logger, int count, bool allowRegistration);
    }
}
