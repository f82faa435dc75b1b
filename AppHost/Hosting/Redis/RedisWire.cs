using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AiStreaming.AppHost.Hosting;

/// <summary>One Redis command over RESP on a fresh loopback connection, for health checks (no client library needed).</summary>
internal static class RedisWire
{
    /// <summary>
    /// Sends <c>AUTH</c> (when <paramref name="password"/> is set) and <paramref name="command"/>; returns the reply: a status or
    /// error line as sent (<c>+PONG</c>, <c>-ERR …</c>), a bulk string's content, or null for a null bulk string.
    /// </summary>
    /// <exception cref="SocketException">Nothing listens on the port.</exception>
    /// <exception cref="IOException">The server closed the connection or authentication failed.</exception>
    public static async Task<string?> CommandAsync(int port, string? password, string[] command, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken).ConfigureAwait(false);
        var stream = client.GetStream();
        var request = new StringBuilder();
        if (password is not null)
        {
            Append(request, ["AUTH", password]);
        }
        Append(request, command);
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(stream, Encoding.UTF8, leaveOpen: true);
        if (password is not null && await ReadAsync(reader, cancellationToken).ConfigureAwait(false) != "+OK")
        {
            throw new IOException("Redis refused the password.");
        }
        return await ReadAsync(reader, cancellationToken).ConfigureAwait(false);
    }

    private static void Append(StringBuilder request, string[] parts)
    {
        request.Append('*').Append(parts.Length).Append("\r\n");
        foreach (var part in parts)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(part)).Append("\r\n").Append(part).Append("\r\n");
        }
    }

    private static async Task<string?> ReadAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        var line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) ?? throw new IOException("Redis closed the connection.");
        if (!line.StartsWith('$'))
        {
            return line;
        }
        var length = int.Parse(line.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);
        if (length < 0)
        {
            return null;
        }
        // Health replies are ASCII, so characters and bytes agree.
        var buffer = new char[length + 2];
        await reader.ReadBlockAsync(buffer, cancellationToken).ConfigureAwait(false);
        return new string(buffer, 0, length);
    }
}
