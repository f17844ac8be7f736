using FailoverAgent.Hosting;

namespace FailoverAgent.Roles;

/// <summary>
/// `failover-agent run -- CMD ARGS`: CMD runs only while this pod is active. Promotion starts it (its
/// stdout/stderr pass through, FAILOVER_* in its environment); demotion sends SIGTERM and, after the
/// grace — or at the term's deadline if that comes first — SIGKILL to its process group, and returns
/// only once it has exited. If CMD exits by itself
/// while active, <paramref name="exitedWhileActive"/> is told (the agent then stops and hands over).
/// </summary>
public sealed class WrappedCommand(IReadOnlyList<string> command, TimeSpan grace, Action<int> exitedWhileActive) : IRoleHandler
{
    private ProcessGroup? running;
    private bool stopping;

    public Task PromoteAsync(RoleChange change, CancellationToken cancel)
    {
        if (running is not null) return Task.CompletedTask;
        stopping = false;
        var started = ProcessGroup.Start(command, change.Environment, redirectOutput: false);
        running = started;
        AgentLog.Info($"started {command[0]} (pid {started.Process.Id}) for term {change.Term}");
        _ = WatchExitAsync(started);
        return Task.CompletedTask;
    }

    /// <summary>Always true once it returns: the command and its process group are gone.</summary>
    public async Task<bool> DemoteAsync(RoleChange change, CancellationToken cancel)
    {
        if (running is not { } group) return true;
        stopping = true;
        var allowed = Allowed(change.StopBy);
        AgentLog.Info($"stopping {command[0]} (pid {group.Process.Id}): SIGTERM, SIGKILL after {allowed.TotalSeconds:0.###} s");
        group.Terminate();
        using var graceOver = new CancellationTokenSource(allowed);
        try { await group.Process.WaitForExitAsync(graceOver.Token); }
        catch (OperationCanceledException) { AgentLog.Warn($"{command[0]} did not stop within {allowed.TotalSeconds:0.###} s: SIGKILL"); }
        // Whatever it left behind in its group goes too: nothing of it may act after the demotion.
        group.KillAll();
        await group.Process.WaitForExitAsync(CancellationToken.None);
        AgentLog.Info($"{command[0]} stopped (exit code {group.Process.ExitCode})");
        running = null;
        group.Dispose();
        return true;
    }

    /// <summary>The grace, cut short by the term's deadline: past it the command must not run at all (docs: proof (c)).</summary>
    private TimeSpan Allowed(TimeSpan? stopBy)
    {
        if (stopBy is not { } deadline) return grace;
        var left = deadline - MonotonicClock.Now;
        return left <= TimeSpan.Zero ? TimeSpan.Zero : left < grace ? left : grace;
    }

    private async Task WatchExitAsync(ProcessGroup group)
    {
        await group.Process.WaitForExitAsync();
        if (stopping) return;
        AgentLog.Warn($"{command[0]} exited by itself with code {group.Process.ExitCode} while active");
        exitedWhileActive(group.Process.ExitCode);
    }
}
