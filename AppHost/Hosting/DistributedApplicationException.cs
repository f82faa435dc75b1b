namespace AiStreaming.AppHost.Hosting;

/// <summary>
/// The application could not start or a resource operation failed: a missing binary or build output, a process that exited
/// or did not become healthy in time. The message says which resource, why, and ends with its last log lines.
/// </summary>
public class DistributedApplicationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DistributedApplicationException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public DistributedApplicationException(string message) : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    public DistributedApplicationException(string message, Exception innerException) : base(message, innerException)
    {
    }
}

/// <summary>The lifecycle state of one replica of a resource, as shown on the dashboard.</summary>
public enum ResourceState
{
    /// <summary>Not started yet.</summary>
    NotStarted,

    /// <summary>Waiting for the resources it <c>WaitFor</c>s to become healthy.</summary>
    Waiting,

    /// <summary>Preparing and launching (e.g. <c>initdb</c>).</summary>
    Starting,

    /// <summary>The process runs; its health check has not passed yet.</summary>
    Running,

    /// <summary>The health check passed (for a database or an external resource: its server is healthy or it is not ours to run).</summary>
    Healthy,

    /// <summary>Being stopped gracefully.</summary>
    Stopping,

    /// <summary>Stopped on request.</summary>
    Stopped,

    /// <summary>Killed on request (SIGKILL).</summary>
    Killed,

    /// <summary>The process exited on its own.</summary>
    Exited,

    /// <summary>It could not be started, or a resource it waits for failed.</summary>
    FailedToStart,
}
