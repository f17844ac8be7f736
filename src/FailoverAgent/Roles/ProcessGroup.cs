using System.Diagnostics;
using System.Runtime.InteropServices;

namespace FailoverAgent.Roles;

/// <summary>
/// A child process in a process group of its own, so a timeout or a demotion reaches everything it
/// started (a shell's children too). The group comes from `setsid` (util-linux or busybox), which
/// execs the command as leader of a new session; without setsid the process tree is killed instead.
/// </summary>
public sealed class ProcessGroup : IDisposable
{
    private const int SIGKILL = 9;
    private const int SIGTERM = 15;
    private static readonly string? Setsid = new[] { "/usr/bin/setsid", "/bin/setsid", "/usr/sbin/setsid" }.FirstOrDefault(File.Exists);

    public Process Process { get; }
    private readonly bool ownGroup;

    private ProcessGroup(Process process, bool ownGroup)
    {
        Process = process;
        this.ownGroup = ownGroup;
    }

    /// <param name="redirectOutput">Capture stdout/stderr (hooks); otherwise they pass through (the wrapped command).</param>
    public static ProcessGroup Start(IReadOnlyList<string> command, IReadOnlyDictionary<string, string> environment, bool redirectOutput)
    {
        var start = new ProcessStartInfo(Setsid ?? command[0])
        {
            UseShellExecute = false,
            RedirectStandardOutput = redirectOutput,
            RedirectStandardError = redirectOutput,
        };
        foreach (var arg in Setsid is null ? command.Skip(1) : command) start.ArgumentList.Add(arg);
        foreach (var (name, value) in environment) start.Environment[name] = value;
        return new ProcessGroup(Process.Start(start) ?? throw new InvalidOperationException($"could not start {command[0]}"), Setsid is not null);
    }

    /// <summary>SIGTERM to the leader only: the command decides how its children stop.</summary>
    public void Terminate()
    {
        if (!Process.HasExited) _ = Kill(Process.Id, SIGTERM);
    }

    /// <summary>SIGKILL to the whole group (or tree).</summary>
    public void KillAll()
    {
        if (ownGroup) _ = Kill(-Process.Id, SIGKILL);
        else if (!Process.HasExited) Process.Kill(entireProcessTree: true);
    }

    public void Dispose() => Process.Dispose();

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
