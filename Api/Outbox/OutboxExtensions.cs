namespace AiStreaming.Api.Outbox;

/// <summary>Registers the transactional outbox: the publisher and its relay.</summary>
public static class OutboxExtensions
{
    /// <summary>
    /// Adds <see cref="OutboxOptions"/> (section <c>Outbox</c>, validated on start), the singleton
    /// <see cref="OutboxPublisher"/> and the <see cref="OutboxRelay"/> background service.
    /// </summary>
    /// <param name="builder">The application builder.</param>
    /// <returns>The same builder.</returns>
    public static IHostApplicationBuilder AddOutbox(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<OutboxOptions>()
            .BindConfiguration(OutboxOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<OutboxPublisher>();
        builder.Services.AddHostedService<OutboxRelay>();
        return builder;
    }
}
