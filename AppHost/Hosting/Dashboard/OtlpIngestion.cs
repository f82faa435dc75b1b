using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Collector.Metrics.V1;
using OpenTelemetry.Proto.Collector.Trace.V1;

namespace AiStreaming.AppHost.Hosting.Dashboard;

/// <summary>
/// OTLP ingestion (OTLP specification 1.x, "OTLP/HTTP" and "OTLP/gRPC"): <c>POST /v1/traces|metrics|logs</c> with
/// <c>application/x-protobuf</c> bodies (at most <see cref="MaxBodyBytes"/>; gzip is not requested by the .NET exporter and is refused
/// with 415), and the <c>TraceService</c>, <c>MetricsService</c> and <c>LogsService</c> gRPC services. Every request must carry
/// the <c>x-otlp-api-key</c> header the AppHost hands its services through <c>OTEL_EXPORTER_OTLP_HEADERS</c> (as Aspire does);
/// otherwise 401 / <c>Unauthenticated</c>.
/// </summary>
internal static class OtlpIngestion
{
    public const string ApiKeyHeader = "x-otlp-api-key";
    public const int MaxBodyBytes = 16 * 1024 * 1024;

    public static void MapOtlpHttp(this IEndpointRouteBuilder app, TelemetryStore store, DashboardSecurity security)
    {
        app.MapPost("/v1/traces", (HttpContext c) => ReceiveAsync(c, security, ExportTraceServiceRequest.Parser,
            r => store.Add(r.ResourceSpans), new ExportTraceServiceResponse()));
        app.MapPost("/v1/metrics", (HttpContext c) => ReceiveAsync(c, security, ExportMetricsServiceRequest.Parser,
            r => store.Metrics.Add(r.ResourceMetrics, store.NameOf), new ExportMetricsServiceResponse()));
        app.MapPost("/v1/logs", (HttpContext c) => ReceiveAsync(c, security, ExportLogsServiceRequest.Parser,
            r => store.Add(r.ResourceLogs), new ExportLogsServiceResponse()));
    }

    private static async Task ReceiveAsync<TRequest>(
        HttpContext context, DashboardSecurity security, MessageParser<TRequest> parser, Action<TRequest> add, IMessage response)
        where TRequest : IMessage<TRequest>
    {
        var result = await DecodeAsync(context, security, parser, add, response).ConfigureAwait(false);
        await result.ExecuteAsync(context).ConfigureAwait(false);
    }

    private static async Task<IResult> DecodeAsync<TRequest>(
        HttpContext context, DashboardSecurity security, MessageParser<TRequest> parser, Action<TRequest> add, IMessage response)
        where TRequest : IMessage<TRequest>
    {
        if (!security.IsOtlpKeyValid(context.Request.Headers[ApiKeyHeader]))
        {
            return Results.Unauthorized();
        }
        if (context.Request.Headers.ContentEncoding.Count > 0 && context.Request.Headers.ContentEncoding != "identity")
        {
            return Results.StatusCode(StatusCodes.Status415UnsupportedMediaType);
        }
        if (context.Request.ContentType?.StartsWith("application/x-protobuf", StringComparison.OrdinalIgnoreCase) != true)
        {
            return Results.StatusCode(StatusCodes.Status415UnsupportedMediaType);
        }
        if (context.Request.ContentLength > MaxBodyBytes)
        {
            return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);
        }
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body, context.RequestAborted).ConfigureAwait(false);
        if (body.Length > MaxBodyBytes)
        {
            return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);
        }
        TRequest request;
        try
        {
            body.Position = 0;
            request = parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException)
        {
            return Results.BadRequest();
        }
        add(request);
        return Results.Bytes(response.ToByteArray(), "application/x-protobuf");
    }

    /// <summary>Checks the gRPC caller's <c>x-otlp-api-key</c> metadata.</summary>
    internal static void Authorize(ServerCallContext context, DashboardSecurity security)
    {
        if (!security.IsOtlpKeyValid(context.RequestHeaders.GetValue(ApiKeyHeader)))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "Missing or wrong x-otlp-api-key."));
        }
    }
}

/// <summary>OTLP/gRPC <c>opentelemetry.proto.collector.trace.v1.TraceService</c>.</summary>
internal sealed class OtlpTraceService(TelemetryStore store, DashboardSecurity security) : TraceService.TraceServiceBase
{
    public override Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, ServerCallContext context)
    {
        OtlpIngestion.Authorize(context, security);
        store.Add(request.ResourceSpans);
        return Task.FromResult(new ExportTraceServiceResponse());
    }
}

/// <summary>OTLP/gRPC <c>opentelemetry.proto.collector.metrics.v1.MetricsService</c>.</summary>
internal sealed class OtlpMetricsService(TelemetryStore store, DashboardSecurity security) : MetricsService.MetricsServiceBase
{
    public override Task<ExportMetricsServiceResponse> Export(ExportMetricsServiceRequest request, ServerCallContext context)
    {
        OtlpIngestion.Authorize(context, security);
        store.Metrics.Add(request.ResourceMetrics, store.NameOf);
        return Task.FromResult(new ExportMetricsServiceResponse());
    }
}

/// <summary>OTLP/gRPC <c>opentelemetry.proto.collector.logs.v1.LogsService</c>.</summary>
internal sealed class OtlpLogsService(TelemetryStore store, DashboardSecurity security) : LogsService.LogsServiceBase
{
    public override Task<ExportLogsServiceResponse> Export(ExportLogsServiceRequest request, ServerCallContext context)
    {
        OtlpIngestion.Authorize(context, security);
        store.Add(request.ResourceLogs);
        return Task.FromResult(new ExportLogsServiceResponse());
    }
}
