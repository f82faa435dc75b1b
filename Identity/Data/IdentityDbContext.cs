using AiStreaming.Identity.Users;
using Microsoft.EntityFrameworkCore;

namespace AiStreaming.Identity.Data;

/// <summary>
/// The <c>identitydb</c> database: OpenIddict's applications, authorizations, scopes and tokens
/// (<c>UseOpenIddict()</c>) and the development users (<see cref="DevelopmentUser"/>).
/// </summary>
/// <param name="options">Npgsql options from Aspire's <c>AddNpgsqlDbContext</c>.</param>
public sealed class IdentityDbContext(DbContextOptions<IdentityDbContext> options) : DbContext(options)
{
    /// <summary>The development users.</summary>
    public DbSet<DevelopmentUser> Users => Set<DevelopmentUser>();

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<DevelopmentUser>(user =>
        {
            user.ToTable("users");
            user.HasKey(u => u.Id);
            user.Property(u => u.Id).HasMaxLength(64);
            user.Property(u => u.UserName).HasMaxLength(DevelopmentUser.MaxUserNameLength);
            user.Property(u => u.PasswordHash).HasMaxLength(256);
        });
    }
}
