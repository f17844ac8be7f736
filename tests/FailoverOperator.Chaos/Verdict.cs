using System.Text;

namespace FailoverOperator.Chaos;

/// <summary>The oracle's findings over one run, and the one-line summary that names the seed.</summary>
public sealed class Verdict
{
    public const string IncompleteInvariant = "storm-incomplete";

    private readonly List<Finding> findings = [];
    private readonly List<string> notes = [];
    private string summary = "";

    public bool Ok => findings.Count == 0;

    public static Verdict Judge(ChaosOptions o, WatchHistory history, StormLog log, Replicas replicas,
        IReadOnlyDictionary<string, string> unconverged, int failovers, bool cancelled)
    {
        var v = new Verdict();
        var pods = history.Pods.ToList();
        var leases = history.Leases.ToList();
        var outages = log.Outages.ToList();
        var foreign = log.ForeignWrites.ToList();

        var disruptions = new Disruptions(log.Kills.Select(k => k.At).ToList(), outages, o.LeaderlessBound);
        var splitBrain = Oracle.SplitBrain(pods, foreign, disruptions);
        var corrections = Oracle.ForeignCorrections(pods, foreign);
        var (maxLeaderless, leadership) = Oracle.Leadership(replicas.Samples.ToList(), outages, o.LeaderlessBound,
            leases.Where(l => l.Name == Replicas.LeaseName).ToList());
        var (expectedLogs, logFindings) = Oracle.Logs(replicas.LogPaths.Where(File.Exists).Select(p => (p, File.ReadAllText(p))), outages, o.LeaderLease * 2 / 3);
        var lost = Convergence.SkippedRecords(leases, history.Groups.ToList(), history.AnnouncedTerms.Keys.ToList());
        var unconvergedFindings = unconverged.Select(kv => new Finding(
            kv.Value.StartsWith(Convergence.LostRecordInvariant, StringComparison.Ordinal) ? Convergence.LostRecordInvariant : Convergence.UnconvergedInvariant,
            $"{kv.Key}: {kv.Value}")).ToList();
        v.findings.AddRange([.. splitBrain, .. Oracle.Uncorrected(corrections, disruptions), .. leadership, .. logFindings, .. lost, .. unconvergedFindings]);
        if (cancelled || failovers < o.Failovers || log.Kills.Count < o.LeaderKills || outages.Count < o.ApiRestarts)
        {
            v.findings.Add(new Finding(IncompleteInvariant, cancelled ? "cancelled" :
                $"the storm ended at --duration with failovers {failovers}/{o.Failovers}, leader kills {log.Kills.Count}/{o.LeaderKills}, API restarts {outages.Count}/{o.ApiRestarts}"));
        }

        var (latencies, unmatched) = Latency.Measure(pods, leases, log, o.LeaderlessBound);
        var corrected = corrections.Where(c => c.Correction is not null).Select(c => c.Correction!.Value).ToList();
        v.notes.Add($"expected step-downs in the logs (API outage longer than the renew deadline): {expectedLogs}; replicas that exited by themselves: {replicas.SelfExits.Count}; restarted for failing /healthz: {replicas.LivenessRestarts.Count}");
        v.notes.Add($"foreign writes: {foreign.Count} ({string.Join(", ", foreign.GroupBy(f => f.Kind).Select(g => $"{g.Key} {g.Count()}"))}); undone p50/max={Latency.Ms(Latency.Percentile(corrected, 0.5))}/{Latency.Ms(corrected.DefaultIfEmpty().Max())}");
        v.notes.Add($"failures written: {log.Triggers.Count} ({string.Join(", ", log.Triggers.GroupBy(t => t.Kind).Select(g => $"{g.Key} {g.Count()}"))}); with no new active seen: {unmatched}");
        v.notes.AddRange(replicas.SelfExits.Concat(replicas.LivenessRestarts).Select(r => $"replica: {r}"));
        v.notes.Add($"API outages: {string.Join(", ", outages.Select(x => $"{x.Start:HH:mm:ss.fff}-{x.End:HH:mm:ss.fff} ({(x.End - x.Start).TotalSeconds:0.0}s)"))}");
        v.notes.Add($"leader kills: {string.Join(", ", log.Kills.Select(k => $"{k.At:HH:mm:ss.fff} {(k.Graceful ? "SIGTERM" : "kill -9")} {k.Identity}"))}");
        v.notes.Add(Targets(o, latencies));
        v.notes.Add("slowest failovers:\n" + string.Join('\n', Latency.Slowest(latencies, 8)));
        v.summary = Summary(o, failovers, log, v.findings, maxLeaderless, latencies);
        return v;
    }

    private static string Summary(ChaosOptions o, int failovers, StormLog log, List<Finding> f, TimeSpan maxLeaderless, List<FailoverLatency> latencies)
    {
        int Count(string invariant) => f.Count(x => x.Invariant == invariant);
        var kills = log.Kills.ToList();
        return $"chaos seed={o.Seed} failovers={failovers} leader-kills={kills.Count} (kill-9={kills.Count(k => !k.Graceful)} sigterm={kills.Count(k => k.Graceful)}) " +
               $"api-restarts={log.Outages.Count} foreign-writes={log.ForeignWrites.Count} split-brain={Count(Oracle.SplitBrainInvariant)} " +
               $"lost-records={Count(Convergence.LostRecordInvariant)} zombies={Count(Oracle.ZombieInvariant)} unconverged={Count(Convergence.UnconvergedInvariant)} " +
               $"uncorrected-foreign={Count(Oracle.ForeignInvariant)} log-problems={Count(Oracle.LogInvariant)} max-leaderless={maxLeaderless.TotalSeconds:0.0}s " +
               $"latency {Latency.Describe(latencies, Latency.Normal)} {Latency.Describe(latencies, Latency.DuringLeaderKill)} {Latency.Describe(latencies, Latency.AroundApiRestart)} " +
               $"result={(f.Count == 0 ? "PASS" : "FAIL")}";
    }

    /// <summary>The acceptance targets, reported (not invariants): a failover during a leader kill within the
    /// leader lease + 2 s; around an API restart, within 3 s of the API's return.</summary>
    private static string Targets(ChaosOptions o, List<FailoverLatency> latencies)
    {
        var kill = latencies.Where(l => l.Situation == Latency.DuringLeaderKill).Select(l => l.Latency).DefaultIfEmpty().Max();
        var api = latencies.Where(l => l.Situation == Latency.AroundApiRestart).Select(l => l.AfterApiBack ?? TimeSpan.Zero).DefaultIfEmpty().Max();
        return $"targets: during a leader kill max {Latency.Ms(kill)} (target {o.LeaderlessBound.TotalSeconds:0} s: {(kill <= o.LeaderlessBound ? "met" : "missed")}); " +
               $"around an API restart max {Latency.Ms(api)} after the API was back (target 3 s: {(api <= TimeSpan.FromSeconds(3) ? "met" : "missed")})";
    }

    /// <summary>Findings (the first 40 on the console, all in the file), the notes, then the summary line last.</summary>
    public void Write(ChaosOptions o, string path)
    {
        var text = new StringBuilder();
        foreach (var f in findings) text.AppendLine($"FINDING {f.Invariant}: {f.Detail}");
        foreach (var n in notes) text.AppendLine(n);
        text.AppendLine($"replay: dotnet FailoverChaos.dll {o.Replay}");
        File.WriteAllText(path, text + summary + "\n");
        foreach (var f in findings.Take(40)) Console.WriteLine($"FINDING {f.Invariant}: {f.Detail}");
        if (findings.Count > 40) Console.WriteLine($"... {findings.Count - 40} more in {path}");
        foreach (var n in notes) Console.WriteLine(n);
        Console.WriteLine($"replay: dotnet FailoverChaos.dll {o.Replay}");
        Console.WriteLine(summary);
    }
}
