using Microsoft.AspNetCore.Diagnostics;

namespace AiStreaming.Api.Errors;

/// <summary>
/// Client input the framework rejects while binding (malformed JSON, wrong content type, oversized body) is a 400
/// ProblemDetails, logged once at Information without a stack trace: a bad client is not an incident. Handled here,
/// the exception handler middleware records no "unhandled exception" for it (ExceptionHandlerOptions.SuppressDiagnosticsCallback's
/// default in ASP.NET Core 10).
/// </summary>
/// <param name="problems">Writes the problem.</param>
/// <param name="logger">Logger.</param>
internal sealed partial class BadRequestHandler(IProblemDetailsService problems, ILogger<BadRequestHandler> logger) : IExceptionHandler
{
    /// <inheritdoc/>
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad)
        {
            return false;
        }
        Log.Rejected(logger, httpContext.Request.Method, httpContext.Request.Path.Value ?? "", bad.StatusCode, bad.Message);
        httpContext.Response.StatusCode = bad.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = { Status = bad.StatusCode, Title = "Bad request", Detail = bad.Message },
        });
    }

    private static partial class Log
    {
        [LoggerMessage(LogLevel.Information, "Rejected {Method} {Path}: {StatusCode} {Reason}")]
        public static partial void Rejected(ILogger logger, string method, string path, int statusCode, string reason);
    }
}
