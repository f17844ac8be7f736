using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace FailoverBench;

public sealed record FloorSample(double TotalMs, double WatchMs, double LeaseMs, double DemoteMs, double PromoteMs);

public sealed record FloorResult(Stats Total, Stats WatchDelay, Stats LeaseUpdate, Stats DemotePatch, Stats PromotePatch, List<FloorSample> Samples);

public sealed record FailoverSample(string From, string To, double WriteMs, double? ObservedMs, double LeaseMs, double LabelledMs, double? EndpointsMs);

public sealed record SingleGroupResult(Stats FailureWrite, Stats FailureObserved, Stats LeaseMoved, Stats Labelled, Stats EndpointsSwitched, List<FailoverSample> Samples);

public sealed record SteadyResult(double WindowSeconds, double RssMb, double RssAnonMb, double RssFileMb, double RssShmemMb, double RssMaxMb, double CpuSecondsPerMinute,
    double RequestsPerGroupPerMinute, Dictionary<string, double> RequestsPerMinuteByVerb);

public sealed record MassResult(double BurstWriteMs, double AllLeasesMovedMs, double AllPromotedMs, double AllPromotedAfterLastWriteMs,
    Stats PerGroupLease, Stats PerGroupLabelled, int BurstConcurrency)
{
    public Dictionary<string, double> RequestsPerFailoverByVerb { get; set; } = [];
    public Dictionary<string, double> WritesUntilAllPromotedByVerb { get; set; } = [];
    public double Reconciles { get; set; }
    public double MeanReconcileMs { get; set; }
    /// <summary>The operator's own failover_operator_failover_duration_seconds: from the reconcile that saw the failure to the label.</summary>
    public double MeanOperatorFailoverMs { get; set; }
    public double MaxQueueDepth { get; set; }
}

/// <summary>A plain client doing N failovers' minimum writes (Lease update + 2 label patches each).</summary>
public sealed record MassFloorResult(double AllDoneMs, Stats PerGroup, int Concurrency);

public sealed class ScaleResult
{
    public int Requested { get; set; }
    public int Groups { get; set; }
    public string? ReducedBecause { get; set; }
    public int Namespaces { get; set; }
    public double SetupSeconds { get; set; }
    public double StartToReadyMs { get; set; }
    public double StartToAllHealthyMs { get; set; }
    public double ColdStartCpuSeconds { get; set; }
    public SteadyResult? Steady { get; set; }
    public MassResult? Mass { get; set; }
    public MassFloorResult? MassFloor { get; set; }
    public double PeakRssMb { get; set; }
    public double TotalCpuSeconds { get; set; }
}

public sealed record MachineInfo(int Cores, string Cpu, double MemoryGiB, double LoadAverage1, int ApiServersOnMachine, string Kernel, string Runtime)
{
    public string Summary => $"{Cores} cores ({Cpu}), {MemoryGiB:0.0} GiB, load average {LoadAverage1:0.0}";

    public static MachineInfo Collect()
    {
        string Read(string path) { try { return File.ReadAllText(path); } catch (IOException) { return ""; } catch (UnauthorizedAccessException) { return ""; } }
        var cpu = Read("/proc/cpuinfo").Split('\n').FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        var memKb = Read("/proc/meminfo").Split('\n').FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))?.Split(':')[1].Trim().Split(' ')[0];
        var load = Read("/proc/loadavg").Split(' ')[0];
        var apiservers = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
            if (Read(Path.Combine(dir, "comm")).Trim() == "kube-apiserver") apiservers++;
        }
        return new MachineInfo(
            Environment.ProcessorCount, cpu,
            memKb is null ? 0 : long.Parse(memKb, CultureInfo.InvariantCulture) / 1024.0 / 1024.0,
            double.TryParse(load, NumberStyles.Float, CultureInfo.InvariantCulture, out var l) ? l : 0,
            apiservers,
            Read("/proc/sys/kernel/osrelease").Trim(),
            RuntimeInformation.FrameworkDescription);
    }
}

/// <summary>Everything one run measured: printed as a table, saved as JSON.</summary>
public sealed class BenchReport
{
    public DateTime StartedAt { get; set; }
    public DateTime Finished { get; set; }
    public double DurationSeconds { get; set; }
    public required MachineInfo Machine { get; set; }
    public double LoadAverageAtEnd { get; set; }
    public required string KubernetesVersion { get; set; }
    public required string Cluster { get; set; }
    public required string OperatorCommit { get; set; }
    public required List<string> OperatorArgs { get; set; }
    /// <summary>The operator's defaults that matter here, as its --help states them (e.g. "--workers=32").</summary>
    public string OperatorDefaults { get; set; } = "";
    public required BenchOptions Options { get; set; }
    public FloorResult? Floor { get; set; }
    public SingleGroupResult? SingleGroup { get; set; }
    public List<ScaleResult> Scales { get; set; } = [];

    public const double TargetSingleP99Ms = 250, TargetFloorRatio = 3, TargetMassSeconds = 5, TargetRssMb = 150;

    public double? RatioP50 => Floor is null || SingleGroup is null ? null : SingleGroup.Labelled.P50 / Floor.Total.P50;
    public double? RatioP99 => Floor is null || SingleGroup is null ? null : SingleGroup.Labelled.P99 / Floor.Total.P99;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string Save(string dir)
    {
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, $"bench-{StartedAt:yyyyMMdd-HHmmss}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(this, Json));
        File.Copy(path, Path.Combine(dir, "latest.json"), overwrite: true);
        return path;
    }

    public void Print(TextWriter w)
    {
        string Ms(double v) => Stats.Ms(v);
        string Row(string name, Stats s) => $"  {name,-34} {Ms(s.P50),10} {Ms(s.P90),10} {Ms(s.P99),10} {Ms(s.Max),10}";
        const string Header = "                                            p50        p90        p99        max";

        w.WriteLine();
        w.WriteLine("==================================================================================================");
        w.WriteLine($"Failover Operator benchmark, {StartedAt:yyyy-MM-dd HH:mm} UTC, {DurationSeconds / 60:0.0} min");
        w.WriteLine($"machine     {Machine.Summary} at start, {LoadAverageAtEnd:0.0} at end; {Machine.ApiServersOnMachine} kube-apiserver process(es) on the machine at start (the benchmark's own included)");
        w.WriteLine($"kubernetes  {KubernetesVersion} ({Cluster})");
        w.WriteLine($"operator    {OperatorCommit}, Release, {Machine.Runtime}, args: {(OperatorArgs.Count == 0 ? $"defaults ({OperatorDefaults})" : string.Join(' ', OperatorArgs))}" +
                    (Options.OperatorEnv.Count == 0 ? "" : $", environment: {string.Join(' ', Options.OperatorEnv.Select(kv => $"{kv.Key}={kv.Value}"))}") +
                    (Options.LeaseSeconds is { } ls ? $"; groups with spec.leaseDurationSeconds={ls}" : ""));
        if (Floor is not null && SingleGroup is not null)
        {
            w.WriteLine();
            w.WriteLine($"1. Floor: a plain client, {Floor.Total.Count} samples (watch delay + Lease update + 2 label patches, sequential)");
            w.WriteLine(Header);
            w.WriteLine(Row("floor total", Floor.Total));
            w.WriteLine(Row("  watcher sees the status patch", Floor.WatchDelay));
            w.WriteLine(Row("  Lease update", Floor.LeaseUpdate));
            w.WriteLine(Row("  label patch (demote)", Floor.DemotePatch));
            w.WriteLine(Row("  label patch (promote)", Floor.PromotePatch));
            w.WriteLine();
            w.WriteLine($"2. Single-group failover: 1 group of 3 pods, {SingleGroup.Labelled.Count} failovers, ms after the failure write was acknowledged");
            w.WriteLine(Header);
            w.WriteLine(Row("-> failure seen by a watcher", SingleGroup.FailureObserved));
            w.WriteLine(Row("-> Lease holder changed", SingleGroup.LeaseMoved));
            w.WriteLine(Row("-> new active labelled", SingleGroup.Labelled));
            w.WriteLine(Row("-> Endpoints list only the new active", SingleGroup.EndpointsSwitched));
            w.WriteLine($"  ratio to the floor (new active labelled / floor total): p50 {RatioP50:0.00}x, p99 {RatioP99:0.00}x");
        }
        if (Scales.Count > 0)
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
                w.WriteLine($"  N={s.Groups}: steady requests/min by verb and code: {string.Join(", ", s.Steady!.RequestsPerMinuteByVerb.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key} {kv.Value:0.#}"))}");
            }
            foreach (var s in Scales.Where(s => s.ReducedBecause is not null && s.Groups > 0))
            {
                w.WriteLine($"  N={s.Groups} instead of {s.Requested}: {s.ReducedBecause}");
            }
        }

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
