using FailoverOperator.Failover;

namespace FailoverOperator.Chaos;

/// <summary>One broken invariant, with what shows it.</summary>
public sealed record Finding(string Invariant, string Detail);

/// <summary>
/// The invariants over the recorded history. Pure: the watch records, the storm's log and the replica
/// samples go in, findings come out, so a planted violation is a unit test (ChaosTests).
/// </summary>
public static partial class Oracle
{
    public const string SplitBrainInvariant = "split-brain";
    public const string ForeignInvariant = "uncorrected-foreign-write";

    /// <summary>How long a declared foreign write may leave a second active label before the operator undoes it.</summary>
    public static readonly TimeSpan ForeignCorrectionBound = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Replays the pod records in watch order and reports every state with more pods of one group labelled
    /// active than the group's spec.activeCount (<paramref name="activeCounts"/> by group, 1 when absent). A pod
    /// whose active label came from a declared foreign write (its resourceVersion) is excused while the operator
    /// has <see cref="ForeignCorrectionBound"/> to undo it (counted from the end of a leader kill or API outage,
    /// <paramref name="disruptions"/>); nothing else is.
    /// </summary>
    public static List<Finding> SplitBrain(IEnumerable<PodRecord> pods, IEnumerable<ForeignWrite> foreign, Disruptions? disruptions = null,
        IReadOnlyDictionary<string, int>? activeCounts = null)
    {
        var around = disruptions ?? Disruptions.None;
        var declared = foreign.Where(f => f.Declared).Select(f => f.ResourceVersion).ToHashSet();
        var state = new Dictionary<string, (string? Group, string? Role, DateTime? ForeignSince)>();
        var findings = new List<Finding>();
        foreach (var r in pods)
        {
            if (r.Gone) { state.Remove(r.Name); continue; }
            var previous = state.GetValueOrDefault(r.Name);
            var foreignSince = previous.Role == r.Role && state.ContainsKey(r.Name) ? previous.ForeignSince
                : r.Role == Roles.Active && declared.Contains(r.ResourceVersion) ? r.At : (DateTime?)null;
            state[r.Name] = (r.Group, r.Role, foreignSince);
            if (r.Role != Roles.Active || r.Group is null) continue;
            var actives = state.Where(kv => kv.Value.Group == r.Group && kv.Value.Role == Roles.Active).ToList();
            var excused = actives.Count(kv => kv.Value.ForeignSince is { } since && r.At <= around.Deadline(since, ForeignCorrectionBound));
            var allowed = activeCounts?.GetValueOrDefault(r.Group, 1) ?? 1;
            if (actives.Count - excused > allowed)
            {
                findings.Add(new Finding(SplitBrainInvariant, $"{r.At:HH:mm:ss.fff} resourceVersion {r.ResourceVersion}: group {r.Group} (at most {allowed} active) has active pods " +
                    string.Join(", ", actives.Select(kv => kv.Key + (kv.Value.ForeignSince is null ? "" : " (foreign)")))));
            }
        }
        return findings;
    }

    /// <summary>
    /// How long the operator took to undo each declared foreign write (null: never), from the write: a label set
    /// active back to standby, a label set standby back to active, a Lease handed to a standby followed by the
    /// labels. A Lease handed to a stranger is a failure, measured as a failover instead.
    /// </summary>
    public static List<(ForeignWrite Write, TimeSpan? Correction)> ForeignCorrections(IReadOnlyList<PodRecord> pods, IEnumerable<ForeignWrite> foreign)
    {
        var result = new List<(ForeignWrite, TimeSpan?)>();
        foreach (var write in foreign.Where(f => f.Declared && f.Kind != ForeignKind.HolderToStranger))
        {
            var start = write.Kind == ForeignKind.HolderToStandby ? -1
                : IndexOf(pods, r => r.Name == write.Pod && r.ResourceVersion == write.ResourceVersion);
            Func<PodRecord, bool> corrected = write.Kind switch
            {
                ForeignKind.LabelActive => r => r.Name == write.Pod && (r.Gone || r.Role != Roles.Active),
                _ => r => r.Name == write.Pod && r.Role == Roles.Active,
            };
            var end = pods.Skip(start + 1).FirstOrDefault(r => r.At >= write.At && corrected(r));
            result.Add((write, end is null ? null : end.At - write.At));
        }
        return result;
    }

    /// <summary>Foreign writes the operator did not undo within <see cref="ForeignCorrectionBound"/> (after any disruption).</summary>
    public static List<Finding> Uncorrected(IEnumerable<(ForeignWrite Write, TimeSpan? Correction)> corrections, Disruptions? disruptions = null) =>
        corrections.Where(c => c.Correction is not { } t || c.Write.At + t > (disruptions ?? Disruptions.None).Deadline(c.Write.At, ForeignCorrectionBound))
            .Select(c => new Finding(ForeignInvariant, $"{c.Write.At:HH:mm:ss.fff} {c.Write.Kind} {c.Write.Pod} in {c.Write.Group}: " +
                (c.Correction is { } t ? $"undone after {t.TotalSeconds:0.0} s" : "never undone")))
            .ToList();

    private static int IndexOf(IReadOnlyList<PodRecord> pods, Func<PodRecord, bool> match)
    {
        for (var i = 0; i < pods.Count; i++) if (match(pods[i])) return i;
        return -1;
    }
}
