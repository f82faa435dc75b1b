namespace AiStreaming.AppHost.Hosting.Runtime;

/// <summary>The AppHost's console: its own messages and resource output prefixed <c>[name-replica]</c>, coloured per resource on a terminal.</summary>
internal static class ConsoleOutput
{
    private static readonly Lock Gate = new();
    private static readonly string[] Palette = ["\e[36m", "\e[32m", "\e[33m", "\e[35m", "\e[34m", "\e[96m", "\e[92m", "\e[95m"];
    private const string Reset = "\e[0m";
    private const string Bold = "\e[1m";
    private const string Red = "\e[31m";
    private const string Dim = "\e[2m";

    private static readonly bool UseColor =
        !Console.IsOutputRedirected
        && Environment.GetEnvironmentVariable("NO_COLOR") is null
        && Environment.GetEnvironmentVariable("TERM") is not "dumb";

    /// <summary>One line of a resource's output.</summary>
    public static void ResourceLine(int colorIndex, string prefix, string line)
    {
        lock (Gate)
        {
            if (UseColor)
            {
                Console.Out.Write(Palette[colorIndex % Palette.Length]);
                Console.Out.Write('[');
                Console.Out.Write(prefix);
                Console.Out.Write(']');
                Console.Out.Write(Reset);
            }
            else
            {
                Console.Out.Write('[');
                Console.Out.Write(prefix);
                Console.Out.Write(']');
            }
            Console.Out.Write(' ');
            Console.Out.WriteLine(line);
        }
    }

    /// <summary>A message of the AppHost itself.</summary>
    public static void Info(string message) => Write(message, UseColor ? Bold : null);

    /// <summary>A quiet detail.</summary>
    public static void Detail(string message) => Write(message, UseColor ? Dim : null);

    /// <summary>An error, to standard error.</summary>
    public static void Error(string message)
    {
        lock (Gate)
        {
            Console.Error.WriteLine(UseColor && !Console.IsErrorRedirected ? $"{Red}{message}{Reset}" : message);
        }
    }

    private static void Write(string message, string? style)
    {
        lock (Gate)
        {
            Console.Out.WriteLine(style is null ? message : $"{style}{message}{Reset}");
        }
    }
}
