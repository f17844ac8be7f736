using FailoverOperator.Failover;
using FailoverOperator.Testing;
using k8s;
using k8s.Models;

namespace FailoverOperator.Chaos;

/// <summary>
/// After the storm, read from the API server (not from a cache): every group has one pod labelled active,
/// the same pod holds the Lease and is status.activePod, every other Ready member is labelled standby;
/// status.failoverCount equals the Lease's leaseTransitions and status.lastFailover.term the term of the
/// failover record on the Lease (no lost record).
/// </summary>
public static class Convergence
{
    public const string UnconvergedInvariant = "unconverged";
    public const string LostRecordInvariant = "lost-record";

    /// <summary>Waits up to <paramref name="within"/> for every group to converge; returns the problems left, by group.</summary>
    public static async Task<(TimeSpan Took, Dictionary<string, string> Problems)> WaitAsync(Cluster cluster, string ns, IReadOnlyList<string> groups, TimeSpan within)
    {
        var started = DateTime.UtcNow;
        var problems = new Dictionary<string, string>();
        try
        {
            await Wait.UntilAsync(async () =>
            {
                problems = new Dictionary<string, string>();
                foreach (var group in groups) if (await ProblemAsync(cluster, ns, group) is { } problem) problems[group] = problem;
                return problems.Count == 0;
            }, within, "every group to converge");
        }
        catch (TimeoutException)
        {
        }
        return (DateTime.UtcNow - started, problems);
    }

    private static async Task<string?> ProblemAsync(Cluster cluster, string ns, string name)
    {
        var group = await cluster.GetGroupAsync(ns, name);
        var lease = await cluster.GetLeaseAsync(ns, name);
        var pods = (await cluster.Api.CoreV1.ListNamespacedPodAsync(ns, labelSelector: $"{Cluster.GroupLabel}={name}")).Items;
        var actives = pods.Where(p => p.GetLabel(Cluster.RoleLabel) == Roles.Active).Select(p => p.Metadata.Name).ToList();
        if (group?.Status is not { } status || lease?.Spec is not { } spec) return "no status or no Lease";
        if (actives.Count != 1) return $"{actives.Count} pods labelled active ({string.Join(", ", actives)})";
        if (spec.HolderIdentity != actives[0] || status.ActivePod != actives[0])
        {
            return $"active label on {actives[0]}, Lease holder {spec.HolderIdentity}, status.activePod {status.ActivePod}";
        }
        var strays = pods.Where(p => p.Metadata.Name != actives[0] && WatchHistory.IsReady(p) && p.GetLabel(Cluster.RoleLabel) != Roles.Standby).ToList();
        if (strays.Count > 0) return $"Ready members not labelled standby: {string.Join(", ", strays.Select(p => p.Metadata.Name))}";
        return LostRecord(status, spec.LeaseTransitions ?? 0, GroupLease.FailoverOf(lease)?.Term) is { } lost ? $"{LostRecordInvariant}: {lost}" : null;
    }

    /// <summary>The status disagrees with the Lease: a failover committed but not (or wrongly) recorded.</summary>
    public static string? LostRecord(HighAvailabilityGroupStatus status, int transitions, int? recordTerm)
    {
        if (status.FailoverCount != transitions) return $"status.failoverCount {status.FailoverCount} != leaseTransitions {transitions}";
        if (transitions > 0 && recordTerm != transitions) return $"the Lease's failover record has term {recordTerm?.ToString() ?? "none"}, leaseTransitions is {transitions}";
        if (recordTerm is { } term && status.LastFailover?.Term != term) return $"status.lastFailover.term {status.LastFailover?.Term?.ToString() ?? "none"} != the Lease's record term {term}";
        return null;
    }

    /// <summary>Failover records committed to a Lease (their term seen in the Lease's history) that never showed
    /// in the group's status history: recorded on the Lease, lost before any status carried them. The finding
    /// says when the record was committed and when a later one replaced it, to set against the operators' logs.</summary>
    public static List<Finding> SkippedRecords(IReadOnlyList<LeaseRecord> leases, IEnumerable<GroupRecord> groups,
        IEnumerable<(string Group, int Term)>? announced = null)
    {
        var recorded = groups.Where(g => g.LastTerm is not null).Select(g => (g.Name, Term: g.LastTerm!.Value)).Concat(announced ?? []).ToHashSet();
        return leases.Where(l => l.RecordTerm is { } term && !recorded.Contains((l.Name, term)))
            .GroupBy(l => (l.Name, Term: l.RecordTerm!.Value)).Select(g => g.First())
            .Select(first => new Finding(LostRecordInvariant, $"{first.Name}: the failover of term {first.RecordTerm} (to {first.Holder}) was committed to the Lease at " +
                $"{first.At:HH:mm:ss.fff} but neither a status nor a Promoted Event ever recorded it; {Successor(leases, first)}"))
            .ToList();
    }

    private static string Successor(IReadOnlyList<LeaseRecord> leases, LeaseRecord committed) =>
        leases.FirstOrDefault(l => l.Name == committed.Name && l.At >= committed.At && l.RecordTerm > committed.RecordTerm) is { } next
            ? $"term {next.RecordTerm} (to {next.Holder}) replaced it at {next.At:HH:mm:ss.fff}"
            : "no later failover";
}
