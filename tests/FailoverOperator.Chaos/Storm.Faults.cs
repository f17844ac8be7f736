using FailoverOperator.Failover;
using FailoverOperator.Testing;
using k8s;
using k8s.Models;

namespace FailoverOperator.Chaos;

public sealed partial class Storm
{
    /// <summary>
    /// Failures first, then at once the leading replica killed (SIGKILL) or stopped (SIGTERM): the kill
    /// lands while those failovers are in flight. The replica comes back after a pause, as a new pod.
    /// </summary>
    private async Task LeaderKillAsync()
    {
        (string Slot, OperatorProcess Process)? leader = null;
        try
        {
            await Wait.UntilAsync(async () => (leader = await replicas.LeaderAsync()) is not null, TimeSpan.FromSeconds(20), "a leading replica");
        }
        catch (TimeoutException)
        {
            // The oracle reports the leaderless time; the kill is tried again on the next step.
            return;
        }
        var graceful = random.Next(2) == 0;
        var downFor = random.Next(1000, 6000);
        await FailGroupsAsync(random.Next(1, 5));
        var (slot, process) = leader!.Value;
        Log.Kills.Enqueue(new LeaderKill(DateTime.UtcNow, process.Identity, graceful));
        var takeDown = replicas.TakeDownAsync(slot, graceful);
        background.Add(Task.Run(async () =>
        {
            try { await takeDown; }
            catch (Exception e) { Console.Error.WriteLine($"chaos: taking {process.Identity} down: {e.Message}"); }
            await Task.Delay(downFor);
            await replicas.ReleaseAsync(slot);
        }));
        // The kill is in flight (a SIGTERM drains for a while): the storm goes on meanwhile.
        await Task.Yield();
    }

    /// <summary>
    /// Failures first, then kube-apiserver stopped and started again (same port, same data), and failures
    /// again as soon as it is back: the operators' caches and election must resume from a dead connection.
    /// </summary>
    private async Task ApiRestartAsync()
    {
        await FailGroupsAsync(random.Next(1, 4));
        var start = DateTime.UtcNow;
        await HackScript.RestartApiServerAsync(planeDir);
        Log.Outages.Enqueue(new ApiOutage(start, DateTime.UtcNow));
        await FailGroupsAsync(random.Next(1, 4));
    }

    private async Task ForeignStepAsync()
    {
        switch (random.Next(3))
        {
            case 0: await ForeignLabelAsync(declared: true); break;
            case 1: await ForeignDemotionAsync(); break;
            default: await ForeignHandOverAsync(); break;
        }
    }

    /// <summary>Someone labels a standby active: two active labels until the operator puts it back.
    /// Undeclared (--inject=double-active), the oracle is not told and must report a split brain.</summary>
    private async Task<bool> ForeignLabelAsync(bool declared)
    {
        if (PickQuiet() is not { } target) return false;
        var standby = target.Standbys[random.Next(target.Standbys.Count)];
        await ForeignAsync(target.Group, standby, ForeignKind.LabelActive, () => fleet.SetRoleAsync(standby, Roles.Active), declared);
        return true;
    }

    /// <summary>Someone labels the active standby: no active label until the operator puts it back.</summary>
    private async Task ForeignDemotionAsync()
    {
        if (PickQuiet() is not { } target) return;
        await ForeignAsync(target.Group, target.Active, ForeignKind.LabelStandby, () => fleet.SetRoleAsync(target.Active, Roles.Standby), declared: true);
    }

    /// <summary>Someone moves the group's Lease to a Ready standby: the Lease is the record, so the operator follows it.</summary>
    private async Task ForeignHandOverAsync()
    {
        if (PickQuiet() is not { } target) return;
        var standby = target.Standbys[random.Next(target.Standbys.Count)];
        await ForeignAsync(target.Group, standby, ForeignKind.HolderToStandby, () => fleet.SetHolderAsync(target.Group, standby), declared: true);
    }

    private (string Group, string Active, List<string> Standbys)? PickQuiet()
    {
        var group = Shuffled(fleet.GroupNames.Where(g => !busy.ContainsKey(g) && fleet.Healthy(g) is not null)).FirstOrDefault();
        return group is null ? null : (group, fleet.Healthy(group)!.Value.Active, fleet.Healthy(group)!.Value.Standbys);
    }

    /// <summary>The write, recorded for the oracle; the group is left alone for a moment so that the correction
    /// is not mixed up with a failover's latency.</summary>
    private async Task ForeignAsync(string group, string pod, ForeignKind kind, Func<Task<string>> write, bool declared)
    {
        busy[group] = true;
        var at = DateTime.UtcNow;
        var rv = await write();
        Log.ForeignWrites.Enqueue(new ForeignWrite(at, group, pod, kind, rv, declared));
        background.Add(Task.Run(async () =>
        {
            try { await Wait.UntilAsync(() => Task.FromResult(fleet.Healthy(group) is not null && Settled(group)), TimeSpan.FromSeconds(30), $"{group} to settle after a foreign write"); }
            catch (TimeoutException) { Console.Error.WriteLine($"chaos: {group} not settled 30 s after a foreign write ({kind} {pod})"); }
            busy.TryRemove(group, out _);
        }));
    }

    /// <summary>Exactly one member labelled active.</summary>
    private bool Settled(string group) => history.Members(group).Count(p => p.GetLabel(Cluster.RoleLabel) == Roles.Active) == 1;
}
