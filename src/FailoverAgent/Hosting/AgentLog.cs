namespace FailoverAgent.Hosting;

/// <summary>
/// The agent's log: one line per fact on stderr, UTC timestamps, so the hook and role history can be
/// read (and compared across pods) from `kubectl logs`. The wrapped command keeps stdout to itself.
/// </summary>
public static class AgentLog
{
    private static readonly Lock Gate = new();
    public static TextWriter Writer { get; set; } = Console.Error;

    public static void Info(string message) => Write("info", message);
    public static void Warn(string message) => Write("warn", message);
    public static void Error(string message) => Write("error", message);

    private static void Write(string level, string message)
    {
        lock (Gate)
        {
            Writer.WriteLine($"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {level} failover-agent: {message}");
            Writer.Flush();
        }
    }
}
