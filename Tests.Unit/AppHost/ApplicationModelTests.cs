using AiStreaming.AppHost.LocalServers;
using AiStreaming.Tests.Aspire;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace AiStreaming.Tests.AppHost;

/// <summary>
/// The application model <c>AppHost/Program.cs</c> composes in run mode, read from the testing builder's resources
/// without starting anything: replicas, health checks, endpoints, references and waits.
/// </summary>
public sealed class ApplicationModelTests(ApplicationModelFixture model) : IClassFixture<ApplicationModelFixture>
{
    private static readonly string[] ProjectNames = ["api", "streamer", "web"];
    private readonly IDistributedApplicationTestingBuilder _builder = model.Builder;

    [Theory]
    [InlineData("api", 2)]
    [InlineData("streamer", 2)]
    [InlineData("web", 2)]
    public void Api_streamer_and_web_run_two_replicas(string project, int replicas)
    {
        var resource = Resource<ProjectResource>(project);

        Assert.Equal(replicas, resource.Annotations.OfType<ReplicaAnnotation>().LastOrDefault()?.Replicas ?? 1);
    }

    [Theory]
    [InlineData("api")]
    [InlineData("streamer")]
    [InlineData("web")]
    public void Every_project_is_healthy_only_when_its_health_endpoint_answers_over_http(string project)
    {
        var resource = Resource<ProjectResource>(project);

        var check = Assert.Single(resource.Annotations.OfType<HealthCheckAnnotation>());
        Assert.Contains("_http_", check.Key, StringComparison.Ordinal);
        Assert.Contains("/health", check.Key, StringComparison.Ordinal);
        Assert.Contains(resource.Annotations.OfType<EndpointAnnotation>(), e => e.Name == "http" && e.UriScheme == "http");
    }

    [Fact]
    public void Only_web_has_external_endpoints()
    {
        foreach (var project in ProjectNames)
        {
            var endpoints = Resource<ProjectResource>(project).Annotations.OfType<EndpointAnnotation>().ToList();
            Assert.NotEmpty(endpoints);
            Assert.All(endpoints, e => Assert.Equal(project == "web", e.IsExternal));
        }
    }

    [Theory]
    [InlineData("api", new[] { "messages", "redis" })]
    [InlineData("streamer", new[] { "redis" })]
    [InlineData("web", new[] { "api", "streamer" })]
    public void Each_project_references_what_it_calls_and_waits_until_that_is_healthy(string project, string[] dependencies)
    {
        var resource = Resource<ProjectResource>(project);

        // Aspire also records what those stand on (messages → postgres) and the signing key parameter as references and waits.
        var references = resource.Annotations.OfType<ResourceRelationshipAnnotation>().Where(r => r.Type == "Reference").Select(r => r.Resource.Name);
        Assert.Subset(references.ToHashSet(), dependencies.ToHashSet());
        var waits = resource.Annotations.OfType<WaitAnnotation>().ToList();
        Assert.Subset(waits.Select(w => w.Resource.Name).ToHashSet(), dependencies.ToHashSet());
        Assert.All(waits, w => Assert.Equal(WaitType.WaitUntilHealthy, w.WaitType));
    }

    [Fact]
    public void Redis_and_PostgreSQL_are_the_local_executable_servers_in_run_mode()
    {
        Assert.IsType<RedisServerResource>(_builder.Resources.Single(r => r.Name == "redis"));
        var postgres = Resource<LocalPostgresServerResource>("postgres");
        var messages = Resource<LocalPostgresDatabaseResource>("messages");

        Assert.Same(postgres, messages.Parent);
        Assert.Equal("messages", messages.DatabaseName);
        Assert.Contains(_builder.Resources.OfType<ExecutableResource>(), r => r.Name == "postgres-init");
        Assert.Contains(postgres.Annotations.OfType<WaitAnnotation>(), w => w.Resource.Name == "postgres-init" && w.WaitType == WaitType.WaitForCompletion);
    }

    [Fact]
    public async Task The_services_connect_to_messages_as_its_owner_role_not_as_the_superuser()
    {
        var messages = Resource<LocalPostgresDatabaseResource>("messages");
        var environment = await EnvironmentOf("api");

        Assert.Same(messages, Assert.IsAssignableFrom<ConnectionStringReference>(environment["ConnectionStrings__messages"]).Resource);
        Assert.Equal("messages_owner", messages.OwnerRole);
        Assert.Contains("Username=messages_owner;", messages.ConnectionStringExpression.ValueExpression, StringComparison.Ordinal);
        Assert.DoesNotContain($"Username={LocalPostgresServerResource.SuperUser};", messages.ConnectionStringExpression.ValueExpression, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("api")]
    [InlineData("streamer")]
    [InlineData("web")]
    public async Task Every_project_gets_the_signing_key_parameter_a_secret(string project)
    {
        var environment = await EnvironmentOf(project);

        var key = Assert.IsType<ParameterResource>(environment["Auth__SigningKey"]);
        Assert.Equal("auth-signing-key", key.Name);
        Assert.True(key.Secret);
    }

    [Fact]
    public void Project_resources_point_at_the_repository_projects()
    {
        foreach (var (name, folder) in new[] { ("api", "Api"), ("streamer", "Streamer"), ("web", "Web") })
        {
            var path = Resource<ProjectResource>(name).GetProjectMetadata().ProjectPath;
            Assert.EndsWith(Path.Combine(folder, $"{folder}.csproj"), path, StringComparison.Ordinal);
            Assert.True(File.Exists(path), path);
        }
    }

    private T Resource<T>(string name) where T : IResource => Assert.IsType<T>(_builder.Resources.Single(r => r.Name == name));

    // The environment the project's callbacks write, unresolved: values are references (parameters, connection strings, endpoints).
    private async Task<Dictionary<string, object>> EnvironmentOf(string project)
    {
        var environment = new Dictionary<string, object>();
        var context = new EnvironmentCallbackContext(_builder.ExecutionContext, Resource<ProjectResource>(project), environment);
        foreach (var callback in Resource<ProjectResource>(project).Annotations.OfType<EnvironmentCallbackAnnotation>())
        {
            await callback.Callback(context);
        }
        return environment;
    }
}

/// <summary>The AppHost composed once for <see cref="ApplicationModelTests"/> (<c>TestAppHost.CreateAsync</c>), never built or started.</summary>
public sealed class ApplicationModelFixture : IAsyncLifetime
{
    /// <summary>The testing builder after <c>AppHost/Program.cs</c> added its resources.</summary>
    public IDistributedApplicationTestingBuilder Builder { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        Builder = await TestAppHost.CreateAsync(cts.Token);
    }

    public async Task DisposeAsync() => await Builder.DisposeAsync();
}
