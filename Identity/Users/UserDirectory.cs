using AiStreaming.Identity.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AiStreaming.Identity.Users;

/// <summary>Checks passwords and creates development users in <see cref="IdentityDbContext"/>.</summary>
/// <param name="db">The database.</param>
/// <param name="hasher">ASP.NET Core Identity's password hasher (PBKDF2).</param>
/// <param name="options">Whether registration is allowed.</param>
public sealed class UserDirectory(IdentityDbContext db, IPasswordHasher<DevelopmentUser> hasher, IOptions<DevelopmentUserOptions> options)
{
    /// <summary>The user named <paramref name="userName"/> when <paramref name="password"/> is theirs, else null.</summary>
    public async Task<DevelopmentUser?> SignInAsync(string userName, string password, CancellationToken cancellationToken)
    {
        var user = await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Id == DevelopmentUser.SubjectOf(userName), cancellationToken);
        return user is null ? null : Verify(user, password);
    }

    private DevelopmentUser? Verify(DevelopmentUser user, string password) =>
        hasher.VerifyHashedPassword(user, user.PasswordHash, password) != PasswordVerificationResult.Failed ? user : null;

    /// <summary>
    /// Registration (when <see cref="DevelopmentUserOptions.AllowRegistration"/>): creates the user when the name is
    /// free; a taken name signs in only with its own password, as <see cref="SignInAsync"/>. Null when refused.
    /// </summary>
    public async Task<DevelopmentUser?> RegisterOrSignInAsync(string userName, string password, CancellationToken cancellationToken)
    {
        if (!options.Value.AllowRegistration)
        {
            return null;
        }
        var existing = await db.Users.AsNoTracking().SingleOrDefaultAsync(u => u.Id == DevelopmentUser.SubjectOf(userName), cancellationToken);
        if (existing is not null)
        {
            return Verify(existing, password);
        }
        var user = New(userName);
        user.PasswordHash = hasher.HashPassword(user, password);
        db.Users.Add(user);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
            return user;
        }
        catch (DbUpdateException ex) when (ex.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            // Registered at the same moment by another request: sign in only with that user's password.
            db.Entry(user).State = EntityState.Detached;
            var raced = await db.Users.AsNoTracking().SingleAsync(u => u.Id == user.Id, cancellationToken);
            return Verify(raced, password);
        }
    }

    /// <summary>Creates <paramref name="userName"/> or resets its password (configuration's seeded users).</summary>
    public async Task UpsertAsync(string userName, string password, CancellationToken cancellationToken)
    {
        var user = await db.Users.SingleOrDefaultAsync(u => u.Id == DevelopmentUser.SubjectOf(userName), cancellationToken);
        if (user is null)
        {
            user = New(userName);
            db.Users.Add(user);
        }
        user.PasswordHash = hasher.HashPassword(user, password);
        await db.SaveChangesAsync(cancellationToken);
    }

    private static DevelopmentUser New(string userName) => new()
    {
        Id = DevelopmentUser.SubjectOf(userName),
        UserName = userName.Trim(),
        PasswordHash = "",
    };
}
