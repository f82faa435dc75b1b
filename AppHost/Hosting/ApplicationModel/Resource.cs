namespace AiStreaming.AppHost.Hosting;

/// <summary>
/// Something the AppHost runs or points at: a server (Redis, PostgreSQL), a database inside one, or a .NET project.
/// A name plus annotations, as Aspire's <c>Aspire.Hosting.ApplicationModel.IResource</c>: everything the builder records
/// about a resource (endpoints, environment, references, <c>WaitFor</c>, replicas, how it is run) is an annotation.
/// </summary>
public interface IResource
{
    /// <summary>The resource's name, unique in the application; used in environment variable names, log prefixes and the dashboard.</summary>
    string Name { get; }

    /// <summary>What the builder recorded about the resource, in the order it was recorded.</summary>
    ResourceAnnotationCollection Annotations { get; }
}

/// <summary>A resource that other resources reach through a connection string, injected as <c>ConnectionStrings__{name}</c>.</summary>
public interface IResourceWithConnectionString : IResource
{
    /// <summary>
    /// The connection string clients use, in the client library's own format
    /// (StackExchange.Redis for Redis, Npgsql for PostgreSQL).
    /// </summary>
    /// <exception cref="InvalidOperationException">The application has not been built yet, so no port is allocated.</exception>
    ValueTask<string?> GetConnectionStringAsync(CancellationToken cancellationToken = default);
}

/// <summary>A resource reached over HTTP and announced to referencing resources as <c>services__{name}__http__0</c>.</summary>
public interface IResourceWithServiceDiscovery : IResourceWithEndpoints;

/// <summary>A resource with endpoints (<see cref="EndpointAnnotation"/>).</summary>
public interface IResourceWithEndpoints : IResource;

/// <summary>A resource that is a process and can receive environment variables (<c>WithEnvironment</c>, <c>WithReference</c>).</summary>
public interface IResourceWithEnvironment : IResource;

/// <summary>A resource whose start can be held back until others are healthy (<c>WaitFor</c>).</summary>
public interface IResourceWithWaitSupport : IResource;

/// <summary>A resource that belongs to another one, like a database to its server; it is healthy when its parent is.</summary>
/// <typeparam name="TParent">The owning resource's type.</typeparam>
public interface IResourceWithParent<out TParent> : IResource where TParent : IResource
{
    /// <summary>The owning resource.</summary>
    TParent Parent { get; }
}

/// <summary>Base class of every resource: a validated name and its annotations. Resources are data; their lifecycle runs them.</summary>
public abstract class Resource : IResource
{
    /// <summary>Creates a resource.</summary>
    /// <param name="name">Letters, digits and '-', starting with a letter (it becomes part of environment variable names).</param>
    /// <exception cref="ArgumentException">The name is not valid.</exception>
    protected Resource(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!char.IsAsciiLetter(name[0]) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            throw new ArgumentException($"Resource name '{name}' must start with a letter and contain only letters, digits and '-'.", nameof(name));
        }
        Name = name;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public ResourceAnnotationCollection Annotations { get; } = [];

    /// <summary>Set when the AppHost was given this resource's connection string: the resource is then not started.</summary>
    internal string? ExternalConnectionString { get; set; }

    /// <inheritdoc />
    public override string ToString() => $"{GetType().Name} '{Name}'";
}

/// <summary>The application's resources in the order they were added; look one up by name.</summary>
public sealed class ResourceCollection : IReadOnlyList<IResource>
{
    private readonly List<IResource> _items = [];

    /// <summary>The resource called <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No resource has that name.</exception>
    public IResource this[string name] => TryGet(name, out var resource)
        ? resource
        : throw new KeyNotFoundException($"No resource named '{name}'. Resources: {string.Join(", ", _items.Select(r => r.Name))}.");

    /// <inheritdoc />
    public IResource this[int index] => _items[index];

    /// <inheritdoc />
    public int Count => _items.Count;

    /// <summary>Finds a resource by name (case-insensitive, as environment variable names are).</summary>
    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IResource? resource)
    {
        resource = _items.Find(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase));
        return resource is not null;
    }

    /// <inheritdoc />
    public IEnumerator<IResource> GetEnumerator() => _items.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    internal void Add(IResource resource)
    {
        if (TryGet(resource.Name, out _))
        {
            throw new InvalidOperationException($"A resource named '{resource.Name}' already exists.");
        }
        _items.Add(resource);
    }
}

/// <summary>
/// A fluent handle on one resource, returned by <c>AddXxx</c> and every <c>WithXxx</c>; same name and meaning as Aspire's.
/// Covariant, so a builder of <see cref="RedisResource"/> passes where one of <see cref="IResourceWithConnectionString"/> is asked.
/// </summary>
/// <typeparam name="T">The resource type.</typeparam>
public interface IResourceBuilder<out T> where T : IResource
{
    /// <summary>The application builder the resource was added to.</summary>
    IDistributedApplicationBuilder ApplicationBuilder { get; }

    /// <summary>The resource.</summary>
    T Resource { get; }
}

internal sealed class ResourceBuilder<T>(IDistributedApplicationBuilder applicationBuilder, T resource) : IResourceBuilder<T>
    where T : IResource
{
    public IDistributedApplicationBuilder ApplicationBuilder { get; } = applicationBuilder;

    public T Resource { get; } = resource;
}
