using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AiStreaming.Api.Generation;

/// <summary>Registers the generation feature.</summary>
public static class GenerationExtensions
{
    /// <summary>
    /// Adds <see cref="GenerationOptions"/> (section <c>Generation</c>, validated on start), the model
    /// (<see cref="ChatModelRegistration.AddChatModel"/>), this process's <see cref="ApiInstance"/>, the
    /// <see cref="GenerationRunner"/> (singleton and hosted service), <see cref="GenerationStore"/>,
    /// <see cref="GenerationMetrics"/> and the lease sweeper.
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
        builder.Services.AddSingleton<DeltaPublisher>();
        builder.Services.AddSingleton<GenerationRunner>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<GenerationRunner>());
        builder.Services.AddHostedService<LeaseSweeper>();
        return builder;
    }
}
