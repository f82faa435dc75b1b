using Microsoft.EntityFrameworkCore;

namespace AiStreaming.Identity.Data;

/// <summary>Registers the <c>identity</c> database and creates its schema before the provider serves anything.</summary>
public static class IdentityDataExtensions
{
    /// <summary>Aspire connection name of the database (<c>ConnectionStrings:identitydb</c>).</summary>
    public const string ConnectionName = "identitydb";

    /// <summary>
    /// Adds <see cref="IdentityDbContext"/> on PostgreSQL through Aspire's <c>AddNpgsqlDbContext</c> (pooling, health
    /// check, telemetry) with OpenIddict's entities, and <see cref="SchemaCreator"/>.
    /// </summary>
    public static IHostApplicationBuilder AddIdentityData(this IHostApplicationBuilder builder)
    {
        builder.AddNpgsqlDbContext<IdentityDbContext>(ConnectionName, configureDbContextOptions: options => options.UseOpenIddict());
        builder.Services.AddHostedService<SchemaCreator>();
        return builder;
    }
}

/// <summary>
/// Creates the database's tables on first start (<c>EnsureCreated</c>: a development provider's schema, created whole,
/// never migrated; drop the database to change it). Runs before the other hosted services, which seed into it.
/// </summary>
/// <param name="services">Scope factory for the context.</param>
internal sealed class SchemaCreator(IServiceScopeFactory services) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<IdentityDbContext>().Database.EnsureCreatedAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
