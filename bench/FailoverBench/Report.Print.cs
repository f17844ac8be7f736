namespace FailoverBench;

/// <summary>The report as a table, in four parts and the targets.</summary>
public sealed partial class BenchReport
{
    private const string Header = "                                            p50        p90        p99        max";

    public void Print(TextWriter w)
    {
        PrintRun(w);
        if (Floor is not null && SingleGroup is not null) PrintFloorAndSingleGroup(w, Floor, SingleGroup);
        if (Scales.Count > 0)
        {
            PrintMass(w);
            PrintCost(w);
        }
        PrintTargets(w);
    }

    private static string Ms(double v) => Stats.Ms(v);

    private static string Row(string name, Stats s) => $"  {name,-34} {Ms(s.P50),10} {Ms(s.P90),10} {Ms(s.P99),10} {Ms(s.Max),10}";

    private void PrintRun(TextWriter w)
    {
        w.WriteLine();
        w.WriteLine("==================================================================================================");
        w.WriteLine($"Failover Operator benchmark, {StartedAt:yyyy-MM-dd HH:mm} UTC, {DurationSeconds / 60:0.0} min");
        w.WriteLine($"machine     {Machine.Summary} at start, {LoadAverageAtEnd:0.0} at end; {Machine.ApiServersOnMachine} kube-apiserver process(es) on the machine at start (the benchmark's own included)");
        w.WriteLine($"kubernetes  {KubernetesVersion} ({Cluster})");
        w.WriteLine($"operator    {OperatorCommit}, Release, {Machine.Runtime}, args: {(OperatorArgs.Count == 0 ? $"defaults ({OperatorDefaults})" : string.Join(' ', OperatorArgs))}" +
                    (Options.OperatorEnv.Count == 0 ? "" : $", environment: {string.Join(' ', Options.OperatorEnv.Select(kv => $"{kv.Key}={kv.Value}"))}") +
                    (Options.LeaseSeconds is { } ls ? $"; groups with spec.leaseDurationSeconds={ls}" : ""));
    }

    private void PrintFloorAndSingleGroup(TextWriter w, FloorResult floor, SingleGroupResult single)
    {
        w.WriteLine();
        w.WriteLine($"1. Floor: a plain client, {floor.Total.Count} samples (watch delay + Lease update + 2 label patches, sequential)");
        w.WriteLine(Header);
        w.WriteLine(Row("floor total", floor.Total));
        w.WriteLine(Row("  watcher sees the status patch", floor.WatchDelay));
        w.WriteLine(Row("  Lease update", floor.LeaseUpdate));
        w.WriteLine(Row("  label patch (demote)", floor.DemotePatch));
        w.WriteLine(Row("  label patch (promote)", floor.PromotePatch));
        w.WriteLine();
        w.WriteLine($"2. Single-group failover: 1 group of 3 pods, {single.Labelled.Count} failovers, ms after the failure write was acknowledged");
        w.WriteLine(Header);
        w.WriteLine(Row("-> failure seen by a watcher", single.FailureObserved));
        w.WriteLine(Row("-> Lease holder changed", single.LeaseMoved));
        w.WriteLine(Row("-> new active labelled", single.Labelled));
        w.WriteLine(Row("-> Endpoints list only the new active", single.EndpointsSwitched));
        w.WriteLine($"  ratio to the floor (new active labelled / floor total): p50 {RatioP50:0.00}x, p99 {RatioP99:0.00}x");
    }

    private void PrintMass(TextWriter w)
    {
        w.WriteLine();
        w.WriteLine("3. Mass failover: every group's active fails in one burst; until every group has a new active labelled");
        w.WriteLine("  groups  failures written  all promoted  after last write  per-group p50  per-group p99  mass floor  after last write / floor");
        foreach (var s in Scales)
        {
            if (s.Mass is null) { w.WriteLine($"  {s.Requested,6}  skipped: {s.ReducedBecause}"); continue; }
            var floor = s.MassFloor is { } f ? $"{f.AllDoneMs / 1000,8:0.00} s  {s.Mass.AllPromotedAfterLastWriteMs / f.AllDoneMs,22:0.0}x" : "";
            w.WriteLine($"  {s.Groups,6}  {s.Mass.BurstWriteMs / 1000,14:0.00} s  {s.Mass.AllPromotedMs / 1000,10:0.00} s  {s.Mass.AllPromotedAfterLastWriteMs / 1000,14:0.00} s  {Ms(s.Mass.PerGroupLabelled.P50),13}  {Ms(s.Mass.PerGroupLabelled.P99),13}  {floor}");
        }
        w.WriteLine("  (all promoted: from the first failure written to the last new active labelled; mass floor: a plain client doing");
        w.WriteLine($"  every group's Lease update + 2 label patches at the burst's concurrency, operator stopped)");
        foreach (var s in Scales.Where(s => s.Mass is not null))
        {
            var m = s.Mass!;
            w.WriteLine($"  N={s.Groups}: operator: {m.Reconciles:0} reconciles, mean {m.MeanReconcileMs:0} ms; its own failover time (reconcile start -> labelled) mean {m.MeanOperatorFailoverMs:0} ms; " +
                        $"work queue depth up to {m.MaxQueueDepth:0}; its writes until the last promotion: {string.Join(", ", m.WritesUntilAllPromotedByVerb.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key} {kv.Value:0}"))}");
        }
    }

    private void PrintCost(TextWriter w)
    {
        w.WriteLine();
        w.WriteLine("4. Cost of the operator process at steady state with N groups");
        w.WriteLine("  groups  RSS steady  RSS peak  CPU steady    API req/group/min  start->ready  start->all Healthy  requests per failover (burst)");
        foreach (var s in Scales.Where(s => s.Steady is not null))
        {
            var perFailover = string.Join(" ", s.Mass!.RequestsPerFailoverByVerb.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}:{kv.Value:0.##}"));
            w.WriteLine($"  {s.Groups,6}  {s.Steady!.RssMb,7:0} MB  {s.PeakRssMb,5:0} MB  {s.Steady.CpuSecondsPerMinute,5:0.00} s/min  {s.Steady.RequestsPerGroupPerMinute,17:0.00}  {s.StartToReadyMs / 1000,10:0.00} s  {s.StartToAllHealthyMs / 1000,16:0.00} s  {perFailover}");
        }
        foreach (var s in Scales.Where(s => s.Steady is not null))
        {
            w.WriteLine($"  N={s.Groups}: steady RSS {s.Steady!.RssMb:0} MB = {s.Steady.RssAnonMb:0} MB anonymous (GC heap, native) + {s.Steady.RssFileMb:0} MB file-backed (mapped assemblies) + {s.Steady.RssShmemMb:0} MB shared (JIT code, W^X double mapping)");
            var byVerb = s.Steady!.RequestsPerMinuteByVerb.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key} {kv.Value:0.#}").ToList();
            w.WriteLine($"  N={s.Groups}: steady requests/min by verb and code: {(byVerb.Count == 0 ? "none" : string.Join(", ", byVerb))}");
        }
        foreach (var s in Scales.Where(s => s.ReducedBecause is not null && s.Groups > 0))
        {
            w.WriteLine($"  N={s.Groups} instead of {s.Requested}: {s.ReducedBecause}");
        }
    }

    private void PrintTargets(TextWriter w)
    {
        w.WriteLine();
        w.WriteLine("Targets");
        if (SingleGroup is not null)
        {
            Target(w, $"single-group p99 -> new active labelled <= {TargetSingleP99Ms} ms", SingleGroup.Labelled.P99 <= TargetSingleP99Ms, Ms(SingleGroup.Labelled.P99));
            Target(w, $"single-group p99 -> Endpoints switched <= {TargetSingleP99Ms} ms", SingleGroup.EndpointsSwitched.P99 <= TargetSingleP99Ms, Ms(SingleGroup.EndpointsSwitched.P99));
            Target(w, $"single-group p99 <= {TargetFloorRatio}x the floor's p99", RatioP99 <= TargetFloorRatio, $"{RatioP99:0.00}x");
        }
        var big = Scales.Where(s => s.Mass is not null).MaxBy(s => s.Groups);
        if (big is not null)
        {
            var full = big.Groups >= 1000 ? "" : $" (measured at N={big.Groups}, not 1000)";
            Target(w, $"{big.Groups} groups all promoted <= {TargetMassSeconds} s{full}", big.Mass!.AllPromotedMs <= TargetMassSeconds * 1000, $"{big.Mass.AllPromotedMs / 1000:0.00} s");
            Target(w, $"RSS <= {TargetRssMb} MB at {big.Groups} groups{full}", big.Steady!.RssMb <= TargetRssMb, $"{big.Steady.RssMb:0} MB steady, {big.PeakRssMb:0} MB peak");
        }
    }

    private static void Target(TextWriter w, string what, bool met, string value) =>
        w.WriteLine($"  {(met ? "MET    " : "NOT MET")}  {what,-58} {value}");
}
