using FailoverOperator.Failover;

namespace KubectlHag;

/// <summary>status, pause and resume: one read or one write of the group, printed.</summary>
public sealed class GroupCommands(GroupApi api, TextWriter stdout)
{
    public async Task<int> StatusAsync(string name, CancellationToken cancellationToken)
    {
        var group = await api.GetAsync(name, cancellationToken);
        var members = await api.MembersAsync(group, cancellationToken);
        var lease = await api.LeaseAsync(name, cancellationToken);
        await stdout.WriteAsync(StatusReport.Render(group, members, lease));
        return ExitCodes.Success;
    }

    /// <summary>Sets spec.paused (a merge patch: nothing else in the spec changes).</summary>
    public async Task<int> SetPausedAsync(string name, bool paused, CancellationToken cancellationToken)
    {
        var before = await api.GetAsync(name, cancellationToken);
        var (after, _) = await api.MergePatchAsync(name, new { spec = new { paused } }, cancellationToken);
        var what = paused ? "paused: no automatic failover or switchover until it is resumed" : "resumed: automatic failover is on";
        var already = before.Spec.Paused == paused ? $" (it already was {(paused ? "paused" : "running")})" : "";
        await stdout.WriteLineAsync($"highavailabilitygroup {api.Namespace}/{name} {what}{already}; spec.paused={(after.Spec.Paused ? "true" : "false")}, " +
            $"active: {after.Status?.ActivePod ?? "none"}");
        return ExitCodes.Success;
    }
}
