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
public sealed partial class BenchReport
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
    /// <summary>The operator's defaults that matter here (e.g. "--workers=32").</summary>
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
}
