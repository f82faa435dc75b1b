using System.Collections.Concurrent;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What an operator reads about readiness: a check's change of state, logged once when <c>/health</c> sees it (not once
/// per probe, and without a stack trace), instead of ASP.NET Core's per-probe <c>fail</c> line with the check's exception
/// (category <see cref="HealthCheckServiceCategory"/>, silenced by <c>AddServiceDefaults</c>). A check that turns
/// unhealthy while the service is running is a Warning (e.g. <c>redis</c> during an outage: its exception's type and
/// message only); one that turns unhealthy while the service stops (a planned drain on SIGTERM) is Information; a
/// recovery is Information.
/// </summary>
/// <param name="lifetime">Tells whether the service is stopping.</param>
/// <param name="logger">Logger (category <c>Microsoft.Extensions.Hosting.HealthLogging</c>).</param>
public sealed partial class HealthLogging(IHostApplicationLifetime lifetime, ILogger<HealthLogging> logger)
{
    /// <summary>The category ASP.NET Core logs every failed check under, at Error with its exception, once per probe.</summary>
    public const string HealthCheckServiceCategory = "Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService";

    private readonly ConcurrentDictionary<string, HealthStatus> _last = new(StringComparer.Ordinal);

    /// <summary>Logs each check of <paramref name="report"/> whose status differs from the one last seen.</summary>
    /// <param name="report">The report of one <c>/health</c> probe.</param>
    public void Observe(HealthReport report)
    {
        foreach (var (name, entry) in report.Entries)
        {
            var previous = _last.GetValueOrDefault(name, HealthStatus.Healthy);
            _last[name] = entry.Status;
            if (previous == entry.Status)
            {
                continue;
            }
            var reason = entry.Exception is { } ex ? $"{ex.GetType().Name}: {ex.Message}" : entry.Description ?? "";
            if (entry.Status == HealthStatus.Healthy)
            {
                Log.Recovered(logger, name);
            }
            else if (lifetime.ApplicationStopping.IsCancellationRequested)
            {
                Log.NotReadyWhileStopping(logger, name, entry.Status, reason);
            }
            else
            {
                Log.Degraded(logger, name, entry.Status, reason);
            }
        }
    }

    /// <summary>
    /// The <c>/health</c> response writer: <see cref="Observe"/>, then the overall status as <c>text/plain</c>, as
    /// ASP.NET Core's default writer answers.
    /// </summary>
    /// <param name="context">The probe.</param>
    /// <param name="report">Its report.</param>
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.RequestServices.GetService<HealthLogging>()?.Observe(report);
        context.Response.ContentType = "text/plain";
        return context.Response.WriteAsync(report.Status.ToString());
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Warning, "Readiness check {Check} is {Status}: {Reason}")]
        public static partial void Degraded(ILogger logger, string check, HealthStatus status, string reason);

        [LoggerMessage(LogLevel.Information, "Readiness check {Check} is {Status} while the service stops: {Reason}")]
        public static partial void NotReadyWhileStopping(ILogger logger, string check, HealthStatus status, string reason);

        [LoggerMessage(LogLevel.Information, "Readiness check {Check} is healthy again")]
        public static partial void Recovered(ILogger logger, string check);
    }
}
