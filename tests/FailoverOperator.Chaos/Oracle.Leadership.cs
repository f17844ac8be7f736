namespace FailoverOperator.Chaos;

public static partial class Oracle
{
    public const string LeaderlessInvariant = "leaderless";
    public const string ZombieInvariant = "zombie";

    /// <summary>
    /// From the replica samples (every 250 ms: alive, /healthz, leader metric), the windows in which no live
    /// replica led. Time while kube-apiserver was down does not count (nobody can lead without it): a window
    /// overlapping an outage counts from the API's return. A window longer than <paramref name="bound"/>
    /// (leader lease + 2 s) is a finding; so is every <b>zombie</b> in it: a replica that stayed alive with
    /// /healthz 200, not leading, through the whole window. Such a process is neither leading nor taking a
    /// Lease free to take, and nothing (no liveness probe) would ever restart it.
    /// </summary>
    /// <param name="leaderLease">the election Lease's watch records: a write naming a holder proves a live leader at
    /// that instant (a dead process writes nothing), more precisely than the next sample, which may lag a
    /// round of probes behind on a loaded machine.</param>
    public static (TimeSpan MaxLeaderless, List<Finding> Findings) Leadership(IReadOnlyList<ReplicaSample> samples, IReadOnlyList<ApiOutage> outages, TimeSpan bound,
        IReadOnlyList<LeaseRecord>? leaderLease = null)
    {
        var findings = new List<Finding>();
        var max = TimeSpan.Zero;
        foreach (var (start, sampledEnd) in LeaderlessWindows(samples))
        {
            var end = (leaderLease ?? []).Where(l => l.At > start && l.At < sampledEnd && !string.IsNullOrEmpty(l.Holder))
                .Select(l => l.At).DefaultIfEmpty(sampledEnd).Min();
            var from = outages.Where(o => o.Start <= end && o.End >= start).Select(o => o.End).Append(start).Max();
            if (from >= end) continue;
            var length = end - from;
            if (length > max) max = length;
            if (length <= bound) continue;
            findings.Add(new Finding(LeaderlessInvariant, $"no leading replica from {from:HH:mm:ss.fff} to {end:HH:mm:ss.fff} ({length.TotalSeconds:0.0} s > {bound.TotalSeconds:0.0} s)"));
            foreach (var zombie in Zombies(samples, from, end))
            {
                findings.Add(new Finding(ZombieInvariant, $"{zombie}: alive, /healthz 200 and not leading from {from:HH:mm:ss.fff} to {end:HH:mm:ss.fff}"));
            }
        }
        return (max, findings);
    }

    /// <summary>Windows with no replica reporting leader=1 (counted from the first leader seen; an open window ends at the last sample).</summary>
    private static IEnumerable<(DateTime Start, DateTime End)> LeaderlessWindows(IReadOnlyList<ReplicaSample> samples)
    {
        var latest = new Dictionary<string, ReplicaSample>();
        DateTime? since = null;
        var seenLeader = false;
        foreach (var s in samples.OrderBy(s => s.At))
        {
            latest[s.Slot] = s;
            var led = latest.Values.Any(l => l.Alive && l.Leader == true);
            if (led)
            {
                if (since is { } start) yield return (start, s.At);
                since = null;
                seenLeader = true;
            }
            else if (seenLeader && since is null)
            {
                since = s.At;
            }
        }
        if (since is { } open && samples.Count > 0) yield return (open, samples.Max(s => s.At));
    }

    private static IEnumerable<string> Zombies(IReadOnlyList<ReplicaSample> samples, DateTime from, DateTime to) =>
        samples.Where(s => s.At >= from && s.At < to).GroupBy(s => s.Identity)
            .Where(g => g.All(s => s.Alive && s.Health == 200 && s.Leader == false) && g.Max(s => s.At) - g.Min(s => s.At) >= (to - from) * 0.8)
            .Select(g => g.Key);
}
