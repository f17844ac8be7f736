using System.Diagnostics;
using System.Text.RegularExpressions;
using FailoverOperator.Testing;
using k8s;

namespace FailoverBench;

/// <summary>
/// The benchmark: the floor, single-group failover latency, mass failover at N groups, and the operator's
/// cost. The operator runs as its own process, started here (its PID gives RSS and CPU); each scale starts
/// a fresh one so that "start → all groups Healthy" is measured from a cold start.
/// </summary>
public static partial class BenchCommand
{
    public const int Members = 3;
    public const string BenchLabel = "failover.dev/bench";
    public static readonly Dictionary<string, string> BenchLabels = new() { [BenchLabel] = "true" };

    public static async Task<int> RunAsync(Cluster cluster, BenchOptions o)
    {
        var clock = Stopwatch.StartNew();
        var report = await NewReportAsync(cluster, o);
        await cluster.RequireCrdAsync();
        await KubeletStandIn.EnsureNodeAsync(cluster.Api);
        Directory.CreateDirectory(o.LogDir);
        await RemoveEarlierRunsAsync(cluster);

        (report.Floor, report.SingleGroup) = await SingleGroupBenchmark.RunAsync(cluster, o);
        await cluster.DeleteNamespacesAsync(SingleGroupBenchmark.Namespaces, TimeSpan.FromSeconds(60));

        double? secondsPerGroup = null;
        for (var i = 0; i < o.Groups.Length; i++)
        {
            var (n, why) = FitToBudget(o, o.Groups[i], o.BudgetSeconds - clock.Elapsed.TotalSeconds, secondsPerGroup);
            if (n == 0)
            {
                report.Scales.Add(new ScaleResult { Requested = o.Groups[i], Groups = 0, ReducedBecause = why });
                continue;
            }
            var scale = await ScaleBenchmark.RunAsync(cluster, o, n, cleanUpWait: i < o.Groups.Length - 1);
            scale.Requested = o.Groups[i];
            scale.ReducedBecause = why;
            report.Scales.Add(scale);
            var variable = scale.SetupSeconds + scale.StartToAllHealthyMs / 1000 + (scale.Mass?.AllPromotedMs ?? 0) / 1000 + (scale.MassFloor?.AllDoneMs ?? 0) / 1000;
            secondsPerGroup = Math.Max(0.05, 1.5 * variable / n);
        }

        report.Finished = DateTime.UtcNow;
        report.DurationSeconds = clock.Elapsed.TotalSeconds;
        report.LoadAverageAtEnd = MachineInfo.Collect().LoadAverage1;
        report.Print(Console.Out);
        Console.WriteLine($"\nresults: {report.Save(o.ResultsDir)}");
        return 0;
    }

    private static async Task<BenchReport> NewReportAsync(Cluster cluster, BenchOptions o)
    {
        var report = new BenchReport
        {
            StartedAt = DateTime.UtcNow,
            Machine = MachineInfo.Collect(),
            KubernetesVersion = await cluster.ServerVersionAsync(),
            Cluster = o.ClusterDescription,
            OperatorCommit = o.Commit,
            OperatorArgs = OperatorArgs(o),
            OperatorDefaults = $"--workers={FailoverOperator.Hosting.OperatorOptions.DefaultWorkers}",
            Options = o,
        };
        Console.WriteLine($"Failover Operator benchmark: {report.Machine.Summary}; Kubernetes {report.KubernetesVersion} ({o.ClusterDescription}); operator {o.Commit}");
        if (report.Machine.ApiServersOnMachine > 1 || report.Machine.LoadAverage1 > report.Machine.Cores)
        {
            Console.WriteLine($"  note: load average {report.Machine.LoadAverage1:0.0} on {report.Machine.Cores} cores, {report.Machine.ApiServersOnMachine} kube-apiserver process(es) on this machine: other work shares the cores, figures will be noisy");
        }
        return report;
    }

    private static async Task RemoveEarlierRunsAsync(Cluster cluster)
    {
        var leftovers = (await cluster.Api.CoreV1.ListNamespaceAsync(labelSelector: $"{BenchLabel}=true")).Items.Select(n => n.Metadata.Name).ToList();
        if (leftovers.Count == 0) return;
        Console.WriteLine($"removing {leftovers.Count} namespace(s) left by an earlier run: {string.Join(", ", leftovers)}");
        if (!await cluster.DeleteNamespacesAsync(leftovers, TimeSpan.FromMinutes(3)))
        {
            throw new TimeoutException($"namespaces of an earlier run ({string.Join(", ", leftovers)}) were still terminating after 3 min: see kubectl get ns -l {BenchLabel}=true, and whether kube-controller-manager (its namespace controller) runs");
        }
    }

    /// <summary>
    /// The N that fits the time left (0: none), and why it is smaller than requested. What grows with N
    /// (creating the objects, the cold start, the burst, the mass floor) is estimated per group from the
    /// previous scale, with a 1.5x margin; the steady window, the settling and about a minute of fixed
    /// waits (operator start, drains, clean-up) are not.
    /// </summary>
    private static (int N, string? Why) FitToBudget(BenchOptions o, int requested, double remaining, double? secondsPerGroup)
    {
        var perGroup = secondsPerGroup ?? 0.15;
        var fixedCost = o.SteadySeconds + o.SettleSeconds + 60;
        if (fixedCost + perGroup * requested <= remaining) return (requested, null);
        var n = (int)Math.Floor((remaining - fixedCost) / perGroup / 100) * 100;
        var why = $"the time budget: {remaining:0} s were left of {o.BudgetSeconds:0} s and this machine took about {perGroup * 1000:0} ms per group " +
                  $"(with margin) plus {fixedCost:0} s per scale, so N={requested} would not have finished in time";
        if (n < 100)
        {
            Console.WriteLine($"\n== skipping N={requested}: {why} ==");
            return (0, why);
        }
        Console.WriteLine($"\n== using N={n} instead of {requested}: {why} ==");
        return (n, why);
    }

    public static List<string> OperatorArgs(BenchOptions o) => o.Workers is { } w ? [$"--workers={w}"] : [];

    public static Task<OperatorProcess> StartOperatorAsync(Cluster cluster, BenchOptions o, string label) =>
        OperatorProcess.StartAsync(new OperatorLaunch(Path.GetFullPath(cluster.KubeconfigPath ?? Kubeconfigs.Default))
        {
            Dll = o.OperatorDll,
            Args = OperatorArgs(o),
            Env = o.OperatorEnv,
            LogPath = Path.Combine(o.LogDir, $"operator-{label}.log"),
            PidFile = o.PidFile,
        }, waitReady: false);

    public static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;
}
