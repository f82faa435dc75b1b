using System.Text.Json.Nodes;

namespace AiStreaming.AppHost.Hosting.Publishing;

/// <summary>
/// The manifest form of each resource type, as Aspire 9's hosting integrations write it (Aspire.Hosting.Redis,
/// Aspire.Hosting.PostgreSQL, Aspire.Hosting's project resource). Expressions in braces (<c>{redis.bindings.tcp.host}</c>,
/// <c>{redis-password.value}</c>) are resolved by the deployment tool.
/// </summary>
internal static class ManifestResources
{
    /// <summary>The images Aspire 9.x pins for its Redis and PostgreSQL resources.</summary>
    internal const string RedisImage = "docker.io/library/redis:7.4";

    internal const string PostgresImage = "docker.io/library/postgres:17.4";

    /// <summary>Environment Aspire gives every project in a manifest (OpenTelemetry exporter behaviour, forwarded headers).</summary>
    private static readonly (string Name, string Value)[] ProjectDefaults =
    [
        ("OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EXCEPTION_LOG_ATTRIBUTES", "true"),
        ("OTEL_DOTNET_EXPERIMENTAL_OTLP_EMIT_EVENT_LOG_ATTRIBUTES", "true"),
        ("OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY", "in_memory"),
        ("ASPNETCORE_FORWARDEDHEADERS_ENABLED", "true"),
    ];

    /// <summary>The manifest entries for <paramref name="resource"/>: the resource itself, then any parameter it introduces.</summary>
    /// <exception cref="NotSupportedException">The resource type has no manifest form.</exception>
    public static IEnumerable<(string Name, JsonObject Entry)> Describe(IResource resource, string manifestDirectory) => resource switch
    {
        RedisResource redis => Redis(redis),
        PostgresServerResource server => Postgres(server),
        PostgresDatabaseResource database =>
            [(database.Name, new JsonObject
            {
                ["type"] = "value.v0",
                ["connectionString"] = $"{{{database.Parent.Name}.connectionString}};Database={database.DatabaseName}",
            })],
        ProjectResource project => [(project.Name, Project(project, manifestDirectory))],
        _ => throw new NotSupportedException($"{resource} has no manifest form."),
    };

    private static IEnumerable<(string, JsonObject)> Redis(RedisResource redis)
    {
        var password = $"{redis.Name}-password";
        var command = "redis-server --requirepass $REDIS_PASSWORD";
        yield return (redis.Name, new JsonObject
        {
            ["type"] = "container.v0",
            ["connectionString"] = $"{{{redis.Name}.bindings.tcp.host}}:{{{redis.Name}.bindings.tcp.port}},password={{{password}.value}}",
            ["image"] = RedisImage,
            ["entrypoint"] = "/bin/sh",
            ["args"] = new JsonArray("-c", command),
            ["env"] = new JsonObject { ["REDIS_PASSWORD"] = $"{{{password}.value}}" },
            ["bindings"] = new JsonObject { ["tcp"] = TcpBinding(6379) },
        });
        yield return (password, GeneratedSecret(password, special: false));
    }

    private static IEnumerable<(string, JsonObject)> Postgres(PostgresServerResource server)
    {
        var password = $"{server.Name}-password";
        var entry = new JsonObject
        {
            ["type"] = "container.v0",
            ["connectionString"] =
                $"Host={{{server.Name}.bindings.tcp.host}};Port={{{server.Name}.bindings.tcp.port}};" +
                $"Username={PostgresServerResource.UserName};Password={{{password}.value}}",
            ["image"] = PostgresImage,
            ["env"] = new JsonObject
            {
                ["POSTGRES_HOST_AUTH_METHOD"] = "scram-sha-256",
                ["POSTGRES_INITDB_ARGS"] = "--auth-host=scram-sha-256 --auth-local=scram-sha-256",
                ["POSTGRES_USER"] = PostgresServerResource.UserName,
                ["POSTGRES_PASSWORD"] = $"{{{password}.value}}",
            },
            ["bindings"] = new JsonObject { ["tcp"] = TcpBinding(5432) },
        };
        yield return (server.Name, entry);
        yield return (password, GeneratedSecret(password, special: true));
    }

    private static JsonObject Project(ProjectResource project, string manifestDirectory)
    {
        var env = new JsonObject();
        foreach (var (name, value) in ProjectDefaults)
        {
            env[name] = value;
        }
        env["HTTP_PORTS"] = $"{{{project.Name}.bindings.http.targetPort}}";
        foreach (var (name, value) in StaticEnvironment(project))
        {
            env[name] = value;
        }
        foreach (var reference in project.References())
        {
            switch (reference)
            {
                case IResourceWithConnectionString:
                    env[$"ConnectionStrings__{reference.Name}"] = $"{{{reference.Name}.connectionString}}";
                    break;
                case ProjectResource target:
                    // Aspire announces one URL per scheme; the deployment target balances over the replicas behind it.
                    env[$"services__{target.Name}__http__0"] = $"{{{target.Name}.bindings.http.url}}";
                    env[$"services__{target.Name}__https__0"] = $"{{{target.Name}.bindings.https.url}}";
                    break;
            }
        }
        var entry = new JsonObject
        {
            ["type"] = "project.v0",
            ["path"] = Path.GetRelativePath(manifestDirectory, project.ProjectPath).Replace('\\', '/'),
        };
        entry["env"] = env;
        entry["bindings"] = new JsonObject
        {
            ["http"] = HttpBinding("http", project.Endpoint()?.IsExternal == true),
            ["https"] = HttpBinding("https", project.Endpoint()?.IsExternal == true),
        };
        return entry;
    }

    // Values set with WithEnvironment(name, value): the callbacks run on an empty environment. Reference callbacks
    // fail here (nothing is allocated in publish mode) and are written as expressions by the caller instead.
    private static Dictionary<string, string> StaticEnvironment(ProjectResource project)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var callback in project.Annotations.OfType<EnvironmentCallbackAnnotation>().Select(a => a.Callback))
        {
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            try
            {
                callback(new EnvironmentCallbackContext(project, 0, env)).GetAwaiter().GetResult();
            }
            catch (Exception ex) when (ex is InvalidOperationException or DistributedApplicationException)
            {
                continue;
            }
            foreach (var (name, value) in env)
            {
                result[name] = value;
            }
        }
        return result;
    }

    private static JsonObject TcpBinding(int targetPort) => new()
    {
        ["scheme"] = "tcp",
        ["protocol"] = "tcp",
        ["transport"] = "tcp",
        ["targetPort"] = targetPort,
    };

    private static JsonObject HttpBinding(string scheme, bool external)
    {
        var binding = new JsonObject
        {
            ["scheme"] = scheme,
            ["protocol"] = "tcp",
            ["transport"] = "http",
        };
        if (external)
        {
            binding["external"] = true;
        }
        return binding;
    }

    // A secret the deployment tool generates once (22 characters, as Aspire's generated passwords).
    private static JsonObject GeneratedSecret(string name, bool special)
    {
        var generate = new JsonObject { ["minLength"] = 22 };
        if (!special)
        {
            generate["special"] = false;
        }
        return new JsonObject
        {
            ["type"] = "parameter.v0",
            ["value"] = $"{{{name}.inputs.value}}",
            ["inputs"] = new JsonObject
            {
                ["value"] = new JsonObject
                {
                    ["type"] = "string",
                    ["secret"] = true,
                    ["default"] = new JsonObject { ["generate"] = generate },
                },
            },
        };
    }
}
