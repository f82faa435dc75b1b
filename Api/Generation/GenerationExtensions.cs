using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AiStreaming.Api.Generation;

/// <summary>Registers the generation feature.</summary>
public static class GenerationExtensions
{
    /// <summary>
    /// Adds <see cref="GenerationOptions"/> (section <c>Generation</c>, validated on start), the model
    /// (<see cref="ChatModelRegistration.AddChatModel"/>), this process's <see cref="ApiInstance"/>, the
    /// <see cref="GenerationRunner"/> and the types it hands work to (registry, loop, finisher, cancel relay, lease
    /// renewer, sweeper and <see cref="GenerationTakeover"/>, drain), <see cref="GenerationStore"/> and <see cref="GenerationMetrics"/>.
    /// </summary>
    /// <param name="builder">The application builder.</param>
    /// <returns>The same builder.</returns>
    public static IHostApplicationBuilder AddGeneration(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<GenerationOptions>()
            .BindConfiguration(GenerationOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.AddChatModel();

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(ApiInstance.Create(builder.Configuration["OTEL_RESOURCE_ATTRIBUTES"]));
        builder.Services.AddSingleton<GenerationMetrics>();
        builder.Services.AddSingleton<GenerationStore>();
        builder.Services.AddSingleton<GenerationRegistry>();
        builder.Services.AddSingleton<DeltaPublisher>();
        builder.Services.AddSingleton<GenerationFinisher>();
        builder.Services.AddSingleton<GenerationLoop>();
        builder.Services.AddSingleton<GenerationRunner>();
        builder.Services.AddSingleton<ReplyModel>();
        builder.Services.AddSingleton<TakeoverStore>();
        builder.Services.AddSingleton<GenerationTakeover>();
        builder.Services.AddSingleton<CancelRelay>();
        // Hosted services stop in reverse order: the drain (GenerationLifetime) first, while leases are still renewed
        // and cancels still arrive.
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CancelRelay>());
        builder.Services.AddHostedService<LeaseRenewer>();
        builder.Services.AddHostedService<LeaseSweeper>();
        builder.Services.AddHostedService<AbandonmentWatch>();
        builder.Services.AddSingleton<AdmissionControl>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AdmissionControl>());
        builder.Services.AddHostedService<GenerationLifetime>();
        return builder;
    }
}
