using AiStreaming.Api.Generation;

namespace AiStreaming.Tests.Api.Generation;

/// <summary>Parsing <c>ConnectionStrings:chat</c> (<see cref="ChatConnection.Parse"/>).</summary>
public class ChatConnectionTests
{
    [Fact]
    public void Parses_endpoint_key_and_model()
    {
        var connection = ChatConnection.Parse("Endpoint=http://localhost:11434/v1;Key=sk-test;Model=llama3.2");

        Assert.Equal(new Uri("http://localhost:11434/v1"), connection.Endpoint);
        Assert.Equal("sk-test", connection.Key);
        Assert.Equal("llama3.2", connection.Model);
    }

    [Theory]
    [InlineData("endpoint=https://example.openai.azure.com/openai/v1/;apikey=abc;deployment=gpt-4o-mini")]
    [InlineData("ENDPOINT=https://example.openai.azure.com/openai/v1/; AccessKey=abc; MODEL=gpt-4o-mini")]
    public void Keys_are_case_insensitive_and_accept_their_aliases(string connectionString)
    {
        var connection = ChatConnection.Parse(connectionString);

        Assert.Equal(new Uri("https://example.openai.azure.com/openai/v1/"), connection.Endpoint);
        Assert.Equal("abc", connection.Key);
        Assert.Equal("gpt-4o-mini", connection.Model);
    }

    [Fact]
    public void Without_an_endpoint_the_OpenAI_endpoint_is_used()
    {
        var connection = ChatConnection.Parse("Key=sk-test;Model=gpt-4o-mini");

        Assert.Equal(ChatConnection.DefaultEndpoint, connection.Endpoint);
        Assert.Equal(new Uri("https://api.openai.com/v1"), connection.Endpoint);
    }

    [Fact]
    public void Without_a_key_the_key_is_null()
    {
        Assert.Null(ChatConnection.Parse("Endpoint=http://localhost:8000/v1;Model=qwen").Key);
    }

    [Theory]
    [InlineData("Endpoint=http://localhost:11434/v1;Key=k")]
    [InlineData("Endpoint=http://localhost:11434/v1;Model=  ")]
    [InlineData("")]
    public void A_missing_model_is_a_format_error_naming_the_model(string connectionString)
    {
        var error = Assert.Throws<FormatException>(() => ChatConnection.Parse(connectionString));

        Assert.Contains("Model", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("localhost:11434/v1")]
    [InlineData("/v1")]
    [InlineData("ftp://example.com/v1")]
    [InlineData("not a url")]
    public void An_endpoint_that_is_not_an_absolute_http_url_is_a_format_error_naming_it(string endpoint)
    {
        var error = Assert.Throws<FormatException>(() => ChatConnection.Parse($"Endpoint={endpoint};Model=m"));

        Assert.Contains("Endpoint", error.Message, StringComparison.Ordinal);
        Assert.Contains(endpoint, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Model")]
    [InlineData("Endpoint=\"unterminated;Model=m")]
    public void A_malformed_connection_string_is_a_format_error(string connectionString)
    {
        Assert.Throws<FormatException>(() => ChatConnection.Parse(connectionString));
    }
}
