using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AiStreaming.Channels;

/// <summary>Registers the wire protocol's services for a publisher (the Api) or the streamer tier.</summary>
public static class ChannelsExtensions
{
    /// <summary>
    /// Adds <see cref="ChannelOptions"/> (section <c>Channels</c>, validated on start), a singleton
    /// <see cref="ChannelPublisher"/> (with its <c>PublishBatcher</c>, created on first use) and a singleton
    /// <see cref="ChannelHistory"/> and <see cref="ChannelFence"/>. Needs an <see cref="IConnectionMultiplexer"/> (<c>AddRedisClient</c>).
    /// </summary>
    /// <param name="builder">The host builder.</param>
    /// <returns>The same builder.</returns>
    public static IHostApplicationBuilder AddChannels(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ChannelOptions>()
            .BindConfiguration(ChannelOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton(sp => new ChannelPublisher(
            sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<IOptions<ChannelOptions>>().Value));
        builder.Services.AddSingleton(sp => new ChannelHistory(
            sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<IOptions<ChannelOptions>>().Value.OperationTimeout));
        builder.Services.AddSingleton(sp => new ChannelFence(
            sp.GetRequiredService<IConnectionMultiplexer>(), sp.GetRequiredService<IOptions<ChannelOptions>>().Value));
        return builder;
    }
}
