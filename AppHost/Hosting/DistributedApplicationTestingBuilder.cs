using System.Reflection;

namespace AiStreaming.AppHost.Hosting;

/// <summary>
/// Runs an AppHost's entry point up to <c>Build()</c> and returns its builder, so tests compose the application exactly as
/// <c>Program.cs</c> does, adjust it, then build and start it themselves. Same name and meaning as Aspire.Hosting.Testing's:
/// <code>
/// var builder = await DistributedApplicationTestingBuilder.CreateAsync&lt;Projects.AppHost&gt;([], ct);
/// builder.GetProject("api").WithEnvironment("SimulatedModel__TokensPerSecond", "200");
/// await using var app = await builder.BuildAsync(ct);
/// await app.StartAsync(ct);                       // returns when every resource is healthy
/// await app.ResourceCommands.ExecuteCommandAsync("streamer-1", KnownResourceCommands.KillCommand, ct);
/// using var http = app.CreateHttpClient("web");
/// </code>
/// Defaults differ from <c>dotnet run</c>: a fresh temporary data root deleted on dispose, no dashboard, resource output kept
/// in memory (<see cref="DistributedApplication.ResourceLogs"/>) rather than copied to the console.
/// </summary>
public static class DistributedApplicationTestingBuilder
{
    /// <summary>Runs <typeparamref name="TEntryPoint"/>'s assembly entry point with no arguments up to <c>Build()</c>.</summary>
    /// <typeparam name="TEntryPoint">Any type of the AppHost assembly: <c>Projects.AppHost</c>.</typeparam>
    public static Task<IDistributedApplicationBuilder> CreateAsync<TEntryPoint>(CancellationToken cancellationToken = default)
        where TEntryPoint : class =>
        CreateAsync<TEntryPoint>([], null, cancellationToken);

    /// <summary>Runs <typeparamref name="TEntryPoint"/>'s assembly entry point with <paramref name="args"/> up to <c>Build()</c>.</summary>
    /// <typeparam name="TEntryPoint">Any type of the AppHost assembly: <c>Projects.AppHost</c>.</typeparam>
    public static Task<IDistributedApplicationBuilder> CreateAsync<TEntryPoint>(string[] args, CancellationToken cancellationToken = default)
        where TEntryPoint : class =>
        CreateAsync<TEntryPoint>(args, null, cancellationToken);

    /// <summary>
    /// Runs <typeparamref name="TEntryPoint"/>'s assembly entry point with <paramref name="args"/> up to <c>Build()</c>;
    /// <paramref name="configure"/> sees the options (testing defaults already applied) before the entry point adds resources.
    /// </summary>
    /// <typeparam name="TEntryPoint">Any type of the AppHost assembly: <c>Projects.AppHost</c>.</typeparam>
    /// <exception cref="InvalidOperationException">The entry point returned without calling <c>Build()</c>.</exception>
    public static async Task<IDistributedApplicationBuilder> CreateAsync<TEntryPoint>(
        string[] args, Action<DistributedApplicationOptions>? configure, CancellationToken cancellationToken = default)
        where TEntryPoint : class
    {
        ArgumentNullException.ThrowIfNull(args);
        var entryPoint = typeof(TEntryPoint).Assembly.EntryPoint
            ?? throw new InvalidOperationException($"Assembly {typeof(TEntryPoint).Assembly.GetName().Name} has no entry point.");

        var hook = new TestingHook(configure);
        // The hook flows to the entry point's thread through the execution context; it is scoped to this call, so concurrent
        // tests each get their own builder and the test's own Build() later is not intercepted.
        TestingHook.Current.Value = hook;
        var thread = new Thread(() => RunEntryPoint(entryPoint, args, hook))
        {
            IsBackground = true,
            Name = $"{typeof(TEntryPoint).Assembly.GetName().Name} entry point",
        };
        thread.Start();
        TestingHook.Current.Value = null;
        return await hook.Builder.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The project resource called <paramref name="name"/>, to keep configuring it (e.g. <c>WithEnvironment</c>).</summary>
    /// <exception cref="KeyNotFoundException">No resource has that name.</exception>
    /// <exception cref="InvalidOperationException">The resource is not a project.</exception>
    public static IResourceBuilder<ProjectResource> GetProject(this IDistributedApplicationBuilder builder, string name) =>
        builder.CreateResourceBuilder<ProjectResource>(name);

    /// <summary>A builder for the resource called <paramref name="name"/>, as Aspire's <c>CreateResourceBuilder&lt;T&gt;(name)</c>.</summary>
    /// <exception cref="KeyNotFoundException">No resource has that name.</exception>
    /// <exception cref="InvalidOperationException">The resource is not a <typeparamref name="T"/>.</exception>
    public static IResourceBuilder<T> CreateResourceBuilder<T>(this IDistributedApplicationBuilder builder, string name) where T : IResource =>
        builder.Resources[name] is T resource
            ? builder.CreateResourceBuilder(resource)
            : throw new InvalidOperationException($"Resource '{name}' is a {builder.Resources[name].GetType().Name}, not a {typeof(T).Name}.");

    private static void RunEntryPoint(MethodInfo entryPoint, string[] args, TestingHook hook)
    {
        try
        {
            entryPoint.Invoke(null, entryPoint.GetParameters().Length == 0 ? null : [args]);
            hook.Fail(new InvalidOperationException("The AppHost entry point returned without calling Build() on its builder."));
        }
        catch (TargetInvocationException ex) when (ex.InnerException is TestingHook.StopTheHostException)
        {
            // Expected: Build() handed the builder over and stopped the entry point here.
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            hook.Fail(ex.InnerException);
        }
        catch (Exception ex)
        {
            hook.Fail(ex);
        }
    }
}

/// <summary>Connects <see cref="DistributedApplicationTestingBuilder"/> with the builder the entry point creates.</summary>
internal sealed class TestingHook(Action<DistributedApplicationOptions>? configure)
{
    public static readonly AsyncLocal<TestingHook?> Current = new();

    private readonly TaskCompletionSource<IDistributedApplicationBuilder> _builder = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<IDistributedApplicationBuilder> Builder => _builder.Task;

    /// <summary>Applies the testing defaults, then the test's own changes.</summary>
    public void Configure(DistributedApplicationOptions options)
    {
        options.DashboardEnabled = false;
        options.ForwardResourceLogsToConsole = false;
        configure?.Invoke(options);
        if (options.DataRoot is null)
        {
            options.DataRoot = Path.Combine(Path.GetTempPath(), $"aistreaming-test-{Guid.NewGuid():N}");
            options.DeleteDataRootOnDispose = true;
        }
    }

    public void HandOver(IDistributedApplicationBuilder builder) => _builder.TrySetResult(builder);

    public void Fail(Exception exception) =>
        _builder.TrySetException(new InvalidOperationException(
            $"The AppHost entry point failed before Build(): {exception.Message}", exception));

    /// <summary>Thrown by <c>Build()</c> to end the entry point once its builder has been handed to the test.</summary>
    internal sealed class StopTheHostException : Exception
    {
        public StopTheHostException() : base("The AppHost entry point was stopped by DistributedApplicationTestingBuilder after Build().")
        {
        }
    }
}
