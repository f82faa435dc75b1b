using System.Net;
using System.Net.Http.Headers;
using AiStreaming.AppHost.Hosting;
using AiStreaming.AppHost.Hosting.Dashboard;
using AiStreaming.AppHost.Hosting.Runtime;
using Google.Protobuf;
using OpenTelemetry.Proto.Collector.Trace.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Trace.V1;

namespace AiStreaming.Tests.AppHost;

/// <summary>The dashboard's OTLP/HTTP receiver on its own (the stack's services use OTLP/gRPC, covered by the browser tests).</summary>
public sealed class OtlpHttpIngestionTests : IAsyncLifetime
{
    private readonly DashboardServer _dashboard = new(
        new Orchestrator(new HostContext(new DistributedApplicationOptions(), Path.GetTempPath()), []),
        PortAllocator.GetFreePort(), PortAllocator.GetFreePort());

    public Task InitializeAsync() => _dashboard.StartAsync(CancellationToken.None);

    public Task DisposeAsync() => _dashboard.DisposeAsync().AsTask();

    [Fact]
    public async Task A_protobuf_export_with_the_api_key_is_decoded_and_one_without_is_refused()
    {
        var request = new ExportTraceServiceRequest
        {
            ResourceSpans = { new ResourceSpans {
                Resource = new() { Attributes = { new KeyValue { Key = "service.instance.id", Value = new AnyValue { StringValue = "api-0" } } } },
                ScopeSpans = { new ScopeSpans { Spans = { new Span {
                    TraceId = ByteString.CopyFrom(new byte[16] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 }),
                    SpanId = ByteString.CopyFrom(new byte[8] { 1, 2, 3, 4, 5, 6, 7, 8 }),
                    Name = "generation", StartTimeUnixNano = 1, EndTimeUnixNano = 2 } } } } } },
        };
        using var http = new HttpClient { BaseAddress = new Uri(_dashboard.OtlpHttpEndpoint) };

        using var anonymous = Protobuf(request);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsync("/v1/traces", anonymous)).StatusCode);
        Assert.Empty(_dashboard.Store.GetTraces(10, null));

        using var content = Protobuf(request);
        content.Headers.Add(OtlpIngestion.ApiKeyHeader, _dashboard.Security.OtlpApiKey);
        using var response = await http.PostAsync("/v1/traces", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-protobuf", response.Content.Headers.ContentType?.MediaType);
        var trace = Assert.Single(_dashboard.Store.GetTraces(10, "api-0"));
        Assert.Equal("0102030405060708090a0b0c0d0e0f10", trace.TraceId);
        Assert.Equal("api-0: generation", trace.Name);
    }

    [Fact]
    public async Task A_body_that_is_not_protobuf_is_a_bad_request()
    {
        using var http = new HttpClient { BaseAddress = new Uri(_dashboard.OtlpHttpEndpoint) };
        using var content = new ByteArrayContent([0xff, 0xff, 0xff]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        content.Headers.Add(OtlpIngestion.ApiKeyHeader, _dashboard.Security.OtlpApiKey);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync("/v1/traces", content)).StatusCode);
    }

    private static ByteArrayContent Protobuf(IMessage message)
    {
        var content = new ByteArrayContent(message.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        return content;
    }
}
