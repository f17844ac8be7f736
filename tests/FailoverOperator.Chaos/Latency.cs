namespace FailoverOperator.Chaos;

/// <summary>One failover's latency (failure written → another pod labelled active), with what was happening then.</summary>
public sealed record FailoverLatency(Trigger Trigger, TimeSpan Latency, string Situation, TimeSpan? AfterApiBack);

/// <summary>The latency split: normal, during a leader kill, around an API server restart.</summary>
public static class Latency
{
    public const string Normal = "normal";
    public const string DuringLeaderKill = "during-leader-kill";
    public const string AroundApiRestart = "around-api-restart";

    /// <summary>A failure written this soon after the API server is back meets operators still reconnecting.</summary>
    public static readonly TimeSpan AfterOutage = TimeSpan.FromSeconds(5);

    /// <summary>
    /// For each trigger, the first pod record after it that labels another member of the group active (for a
    /// Lease handed to a stranger: the first Lease record naming a member again). Around an API restart: an
    /// outage overlapped [failure, new active], or the failure came within <see cref="AfterOutage"/> of its end; during a leader kill: a kill happened between
    /// <paramref name="killWindow"/> (the leader lease + 2 s: the longest a takeover may take) before the failure and the new active. Triggers with no new active are counted apart (convergence judges them).
    /// </summary>
    public static (List<FailoverLatency> Measured, int Unmatched) Measure(IReadOnlyList<PodRecord> pods, IReadOnlyList<LeaseRecord> leases, StormLog log, TimeSpan killWindow)
    {
        var measured = new List<FailoverLatency>();
        var unmatched = 0;
        foreach (var t in log.Triggers)
        {
            DateTime? done = t.Kind == FailureKind.ForeignHolder
                ? leases.FirstOrDefault(l => l.Name == t.Group && l.At >= t.At && !string.IsNullOrEmpty(l.Holder) && l.Holder != Fleet.Stranger)?.At
                : pods.FirstOrDefault(p => p.Group == t.Group && p.At >= t.At && !p.Gone && p.Name != t.Pod && p.Role == Failover.Roles.Active)?.At;
            if (done is not { } end) { unmatched++; continue; }
            var outage = log.Outages.FirstOrDefault(o => o.Start <= end && o.End + AfterOutage >= t.At);
            var situation = outage is not null ? AroundApiRestart
                : log.Kills.Any(k => k.At >= t.At - killWindow && k.At <= end) ? DuringLeaderKill
                : Normal;
            // Handled before the API was gone (or before it was back): nothing was left to wait for after its return.
            var afterBack = outage is null ? (TimeSpan?)null : end - (outage.End > t.At ? outage.End : t.At);
            measured.Add(new FailoverLatency(t, end - t.At, situation, afterBack < TimeSpan.Zero ? TimeSpan.Zero : afterBack));
        }
        return (measured, unmatched);
    }

    /// <summary>The slowest failovers, for the findings file: where to look first.</summary>
    public static IEnumerable<string> Slowest(IEnumerable<FailoverLatency> measured, int count) =>
        measured.OrderByDescending(m => m.Latency).Take(count)
            .Select(m => $"  {Ms(m.Latency)} {m.Situation}: {m.Trigger.At:HH:mm:ss.fff} {m.Trigger.Kind} {m.Trigger.Pod} ({m.Trigger.Group})");

    public static TimeSpan Percentile(IEnumerable<TimeSpan> values, double p)
    {
        var sorted = values.OrderBy(v => v).ToList();
        if (sorted.Count == 0) return TimeSpan.Zero;
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    /// <summary>"p50/p99=82ms/418ms (n=170)" for one situation; around an API restart also from the API's return.</summary>
    public static string Describe(IReadOnlyList<FailoverLatency> measured, string situation)
    {
        var of = measured.Where(m => m.Situation == situation).ToList();
        if (of.Count == 0) return $"{situation} n=0";
        var text = $"{situation} p50/p99={Ms(Percentile(of.Select(m => m.Latency), 0.5))}/{Ms(Percentile(of.Select(m => m.Latency), 0.99))} n={of.Count}";
        if (situation == AroundApiRestart)
        {
            var after = of.Select(m => m.AfterApiBack ?? TimeSpan.Zero).ToList();
            text += $" (from API back: p50/max={Ms(Percentile(after, 0.5))}/{Ms(after.Max())})";
        }
        return text;
    }

    public static string Ms(TimeSpan t) => t.TotalMilliseconds < 10000 ? $"{t.TotalMilliseconds:0}ms" : $"{t.TotalSeconds:0.0}s";
}
