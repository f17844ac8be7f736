using System.Diagnostics;
using FailoverOperator.Failover;
using FailoverOperator.Testing;

namespace FailoverBench;

/// <summary>
/// Parts 3 and 4 at one scale N: create N groups with the operator stopped, then cold start, steady
/// state, mass failover, what the burst cost, and the mass floor; each a named step below.
/// </summary>
public sealed partial class ScaleBenchmark
{
    private readonly Cluster cluster;
    private readonly BenchOptions o;
    private readonly int n;
    private readonly List<string> namespaces;
    private readonly List<(string Ns, string Name)> groups;
    private readonly Dictionary<string, FailoverTimeline> timelines = [];
    private readonly Dictionary<string, KubeletStandIn> kubelets;
    private readonly ScaleResult result;

    private ScaleBenchmark(Cluster cluster, BenchOptions o, int n)
    {
        this.cluster = cluster;
        this.o = o;
        this.n = n;
        var nsCount = (n + o.GroupsPerNamespace - 1) / o.GroupsPerNamespace;
        namespaces = Enumerable.Range(0, nsCount).Select(k => $"fb-n{n}-{k:00}").ToList();
        groups = Enumerable.Range(0, n).Select(g => (Ns: namespaces[g / o.GroupsPerNamespace], Name: $"g{g:0000}")).ToList();
        kubelets = groups.ToDictionary(g => g.Name, g => new KubeletStandIn(cluster.Api, g.Ns));
        result = new ScaleResult { Groups = n, Namespaces = nsCount };
    }

    public static async Task<ScaleResult> RunAsync(Cluster cluster, BenchOptions o, int n, bool cleanUpWait)
    {
        var scale = new ScaleBenchmark(cluster, o, n);
        Console.WriteLine($"\n== 3+4. N={n} groups ({BenchCommand.Members} pods each) in {scale.namespaces.Count} namespace(s) ==");
        try
        {
            await scale.CreateGroupsAsync();
            await using var op = await BenchCommand.StartOperatorAsync(cluster, o, $"n{n}");
            await scale.ColdStartAsync(op);
            var steadyEnd = await scale.SteadyStateAsync(op);
            var (targets, results) = await scale.MassFailoverAsync(op);
            await scale.BurstCostAsync(op, steadyEnd);
            await op.StopAsync();
            await scale.MassFloorAsync(targets, results);
        }
        finally
        {
            foreach (var t in scale.timelines.Values) await t.DisposeAsync();
            var gone = await cluster.DeleteNamespacesAsync(scale.namespaces, cleanUpWait ? TimeSpan.FromMinutes(2) : TimeSpan.Zero);
            if (cleanUpWait && !gone) Console.WriteLine("  (the namespaces are still terminating; continuing)");
        }
        return scale.result;
    }

    /// <summary>The objects first, with the operator stopped, so its start is a cold start over N groups.</summary>
    private async Task CreateGroupsAsync()
    {
        var setup = Stopwatch.StartNew();
        await Parallel.ForEachAsync(namespaces, new ParallelOptions { MaxDegreeOfParallelism = 8 },
            async (ns, _) => await cluster.EnsureNamespaceAsync(ns, BenchCommand.BenchLabels));
        foreach (var ns in namespaces) timelines[ns] = await FailoverTimeline.StartAsync(cluster.Watches, ns, watchEndpoints: false);
        var created = 0;
        await Parallel.ForEachAsync(groups, new ParallelOptions { MaxDegreeOfParallelism = o.Concurrency }, async (g, _) =>
        {
            await Cluster.CreateMembersAsync(kubelets[g.Name], g.Name, BenchCommand.Members);
            await cluster.CreateGroupAsync(g.Ns, g.Name, configure: s => s.LeaseDurationSeconds = o.LeaseSeconds ?? s.LeaseDurationSeconds);
            var done = Interlocked.Increment(ref created);
            if (done % Math.Max(100, n / 5) == 0) Console.WriteLine($"  created {done}/{n} groups ({setup.Elapsed.TotalSeconds:0} s)");
        });
        result.SetupSeconds = setup.Elapsed.TotalSeconds;
        Console.WriteLine($"  {n} groups, {n * BenchCommand.Members} pods created and Ready in {result.SetupSeconds:0.0} s (concurrency {o.Concurrency})");
    }

    private async Task ColdStartAsync(OperatorProcess op)
    {
        var ready = await op.WaitReadyAsync(TimeSpan.FromSeconds(180));
        result.StartToReadyMs = BenchCommand.Ms(op.StartedAt, ready);
        var healthy = await Task.WhenAll(timelines.Values.Select(t =>
        {
            var expected = groups.Count(g => g.Ns == t.Namespace);
            return t.WaitAsync(() => t.CountGroups(g => g.Phase == GroupPhase.Healthy && g.ActivePod is not null) == expected,
                TimeSpan.FromMinutes(5), $"all {expected} groups Healthy");
        }));
        result.StartToAllHealthyMs = BenchCommand.Ms(op.StartedAt, healthy.Max());
        var afterStart = op.Sample();
        result.ColdStartCpuSeconds = afterStart.CpuSeconds;
        Console.WriteLine($"  operator start -> ready (caches synced) {result.StartToReadyMs / 1000:0.00} s, -> all {n} groups Healthy {result.StartToAllHealthyMs / 1000:0.00} s " +
                          $"({afterStart.CpuSeconds:0.0} CPU s)");
    }

    /// <summary>
    /// The steady window, once the start-up writes (Events) drained and the JIT's re-compilation of hot
    /// code (tiered compilation) had time to settle. Returns the request counts at its end.
    /// </summary>
    private async Task<Dictionary<string, double>> SteadyStateAsync(OperatorProcess op)
    {
        var settle = Stopwatch.StartNew();
        await WaitQuietAsync(op, TimeSpan.FromSeconds(90));
        var rest = TimeSpan.FromSeconds(o.SettleSeconds) - settle.Elapsed;
        if (rest > TimeSpan.Zero) await Task.Delay(rest);
        Console.WriteLine($"  settled for {settle.Elapsed.TotalSeconds:0} s (start-up Events drained); measuring {o.SteadySeconds:0} s of steady state");
        var m0 = await op.ApiRequestsAsync();
        var p0 = op.Sample();
        var rss = new List<double>();
        var window = Stopwatch.StartNew();
        while (window.Elapsed.TotalSeconds < o.SteadySeconds)
        {
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(1, o.SteadySeconds - window.Elapsed.TotalSeconds + 0.01)));
            rss.Add(op.Sample().RssMb);
        }
        var m1 = await op.ApiRequestsAsync();
        var p1 = op.Sample();
        var minutes = BenchCommand.Ms(p0.At, p1.At) / 60000;
        var delta = Delta(m0, m1);
        result.Steady = new SteadyResult(
            WindowSeconds: minutes * 60,
            RssMb: p1.RssMb,
            RssAnonMb: p1.AnonMb,
            RssFileMb: p1.FileMb,
            RssShmemMb: p1.ShmemMb,
            RssMaxMb: rss.Append(p1.RssMb).Max(),
            CpuSecondsPerMinute: (p1.CpuSeconds - p0.CpuSeconds) / minutes,
            RequestsPerGroupPerMinute: delta.Values.Sum() / n / minutes,
            RequestsPerMinuteByVerb: delta.ToDictionary(kv => kv.Key, kv => Math.Round(kv.Value / minutes, 1)));
        Console.WriteLine($"  steady: RSS {result.Steady.RssMb:0} MB ({p1.AnonMb:0} anonymous, {p1.FileMb:0} file-backed, {p1.ShmemMb:0} shared: JIT code), CPU {result.Steady.CpuSecondsPerMinute:0.00} s/min, " +
                          $"{result.Steady.RequestsPerGroupPerMinute:0.00} API requests per group per minute ({Verbs(result.Steady.RequestsPerMinuteByVerb, "/min")})");
        return m1;
    }

    /// <summary>What the burst cost: requests per failover, once the follow-up writes (status, Events) drained.</summary>
    private async Task BurstCostAsync(OperatorProcess op, Dictionary<string, double> before)
    {
        await WaitQuietAsync(op, TimeSpan.FromSeconds(60));
        var after = await op.ApiRequestsAsync();
        var sample = op.Sample();
        result.Mass!.RequestsPerFailoverByVerb = Delta(before, after).ToDictionary(kv => kv.Key, kv => Math.Round(kv.Value / n, 2));
        result.PeakRssMb = sample.PeakRssMb;
        result.TotalCpuSeconds = sample.CpuSeconds;
        Console.WriteLine($"  the burst cost {Verbs(result.Mass.RequestsPerFailoverByVerb, "")} requests per failover; peak RSS {sample.PeakRssMb:0} MB");
    }

    /// <summary>With the operator stopped, a plain client does the same minimum writes per group for all N groups.</summary>
    private async Task MassFloorAsync(List<(string Ns, string Name, string Active)> targets, FailoverResult[] failovers)
    {
        var undo = targets.Select(t => (t.Ns, t.Name, Failed: t.Active, Active: failovers.First(r => r.Group == t.Name).To)).ToList();
        result.MassFloor = await FloorProbe.MassAsync(cluster.Api, undo, o.BurstConcurrency);
        Console.WriteLine($"  mass floor (plain client, {n} x [Lease update + 2 label patches], concurrency {o.BurstConcurrency}): all done in {result.MassFloor.AllDoneMs / 1000:0.00} s, " +
                          $"per group p50 {Stats.Ms(result.MassFloor.PerGroup.P50)}, p99 {Stats.Ms(result.MassFloor.PerGroup.P99)}");
    }
}
