using System.Diagnostics;
using FailoverOperator.Failover;
using FailoverOperator.Testing;
using k8s;
using k8s.Models;

namespace FailoverBench;

public sealed record BenchOptions
{
    public required string OperatorDll { get; init; }
    public int[] Groups { get; init; } = [100, 1000];
    public int Failovers { get; init; } = 50;
    public int Warmup { get; init; } = 3;
    public int? Workers { get; init; }
    /// <summary>spec.leaseDurationSeconds of the groups the benchmark creates (null: the CRD default, 15).</summary>
    public int? LeaseSeconds { get; init; }
    /// <summary>Environment variables for the operator process (experiments, e.g. DOTNET_TieredPGO=0).</summary>
    public Dictionary<string, string> OperatorEnv { get; init; } = [];
    /// <summary>Seconds after all groups are Healthy before the steady window (start-up JIT tiering settles).</summary>
    public double SettleSeconds { get; init; } = 20;
    public double SteadySeconds { get; init; } = 60;
    public double BudgetSeconds { get; init; } = 600;
    public int Concurrency { get; init; } = 16;
    public int BurstConcurrency { get; init; } = 64;
    public int GroupsPerNamespace { get; init; } = 100;
    public string ResultsDir { get; init; } = "bench/results";
    public string LogDir { get; init; } = ".local/bench";
    public string? PidFile { get; init; }
    public string Commit { get; init; } = "unknown";
    public string ClusterDescription { get; init; } = "the cluster in the kubeconfig";
}

/// <summary>
/// `bench`: the floor, single-group failover latency, mass failover at N groups, and the operator's cost.
/// The operator runs as its own process, started here (its PID gives RSS and CPU); each scale starts a
/// fresh one so that "start → all groups Healthy" is measured from a cold start.
/// </summary>
public static class BenchCommand
{
    private const string FloorNs = "fb-floor";
    private const string SingleNs = "fb-single";
    private const string SingleGroup = "single";
    private const string SingleService = "single-active";
    private const int Members = 3;
    private const string BenchLabel = "failover.dev/bench";
    private static readonly Dictionary<string, string> BenchLabels = new() { [BenchLabel] = "true" };

    public static async Task<int> RunAsync(Cluster cluster, BenchOptions o)
    {
        var clock = Stopwatch.StartNew();
        var report = new BenchReport
        {
            StartedAt = DateTime.UtcNow,
            Machine = MachineInfo.Collect(),
            KubernetesVersion = await cluster.ServerVersionAsync(),
            Cluster = o.ClusterDescription,
            OperatorCommit = o.Commit,
            OperatorArgs = OperatorArgs(o),
            OperatorDefaults = await OperatorHost.DefaultsAsync(o.OperatorDll),
            Options = o,
        };
        Console.WriteLine($"Failover Operator benchmark: {report.Machine.Summary}; Kubernetes {report.KubernetesVersion} ({o.ClusterDescription}); operator {o.Commit}");
        if (report.Machine.ApiServersOnMachine > 1 || report.Machine.LoadAverage1 > report.Machine.Cores)
        {
            Console.WriteLine($"  note: load average {report.Machine.LoadAverage1:0.0} on {report.Machine.Cores} cores, {report.Machine.ApiServersOnMachine} kube-apiserver process(es) on this machine: other work shares the cores, figures will be noisy");
        }
        await cluster.RequireCrdAsync();
        await KubeletStandIn.EnsureNodeAsync(cluster.Api);
        Directory.CreateDirectory(o.LogDir);

        var leftovers = (await cluster.Api.CoreV1.ListNamespaceAsync(labelSelector: $"{BenchLabel}=true")).Items.Select(n => n.Metadata.Name).ToList();
        if (leftovers.Count > 0)
        {
            Console.WriteLine($"removing {leftovers.Count} namespace(s) left by an earlier run: {string.Join(", ", leftovers)}");
            if (!await cluster.DeleteNamespacesAsync(leftovers, TimeSpan.FromMinutes(3))) throw new TimeoutException($"namespaces of an earlier run ({string.Join(", ", leftovers)}) were still terminating after 3 min: see kubectl get ns -l {BenchLabel}=true, and whether kube-controller-manager (its namespace controller) runs");
        }

        var (floor, single) = await FloorAndSingleGroupAsync(cluster, o);
        report.Floor = floor;
        report.SingleGroup = single;
        await cluster.DeleteNamespacesAsync([FloorNs, SingleNs], TimeSpan.FromSeconds(60));

        double? secondsPerGroup = null;
        for (var i = 0; i < o.Groups.Length; i++)
        {
            var requested = o.Groups[i];
            var n = requested;
            var remaining = o.BudgetSeconds - clock.Elapsed.TotalSeconds;
            // What grows with N (creating the objects, the cold start, the burst, the mass floor) is
            // estimated per group from the previous scale, with a 1.5x margin; the steady window, the
            // settling and about a minute of fixed waits (operator start, drains, clean-up) are not.
            var perGroup = secondsPerGroup ?? 0.15;
            var fixedCost = o.SteadySeconds + o.SettleSeconds + 60;
            string? why = null;
            if (fixedCost + perGroup * n > remaining)
            {
                n = (int)Math.Floor((remaining - fixedCost) / perGroup / 100) * 100;
                why = $"the time budget: {remaining:0} s were left of {o.BudgetSeconds:0} s and this machine took about {perGroup * 1000:0} ms per group " +
                      $"(with margin) plus {fixedCost:0} s per scale, so N={requested} would not have finished in time";
                if (n < 100)
                {
                    Console.WriteLine($"\n== skipping N={requested}: {why} ==");
                    report.Scales.Add(new ScaleResult { Requested = requested, Groups = 0, ReducedBecause = why });
                    continue;
                }
                Console.WriteLine($"\n== using N={n} instead of {requested}: {why} ==");
            }
            var scale = await ScaleAsync(cluster, o, n, cleanUpWait: i < o.Groups.Length - 1);
            scale.Requested = requested;
            scale.ReducedBecause = why;
            report.Scales.Add(scale);
            var variable = scale.SetupSeconds + scale.StartToAllHealthyMs / 1000 + (scale.Mass?.AllPromotedMs ?? 0) / 1000 + (scale.MassFloor?.AllDoneMs ?? 0) / 1000;
            secondsPerGroup = Math.Max(0.05, 1.5 * variable / n);
        }

        report.Finished = DateTime.UtcNow;
        report.DurationSeconds = clock.Elapsed.TotalSeconds;
        report.LoadAverageAtEnd = MachineInfo.Collect().LoadAverage1;
        report.Print(Console.Out);
        var path = report.Save(o.ResultsDir);
        Console.WriteLine($"\nresults: {path}");
        return 0;
    }

    private static List<string> OperatorArgs(BenchOptions o)
    {
        var args = new List<string>();
        if (o.Workers is { } w) args.Add($"--workers={w}");
        return args;
    }

    private static OperatorHost StartOperator(Cluster cluster, BenchOptions o, string label) =>
        OperatorHost.Start(o.OperatorDll, Path.GetFullPath(cluster.KubeconfigPath ?? Kubeconfigs.Default), OperatorArgs(o), o.OperatorEnv,
            Path.Combine(o.LogDir, $"operator-{label}.log"), o.PidFile);

    // ---------------------------------------------------------------- 1 + 2

    /// <summary>
    /// Floor samples and single-group failovers, interleaved so both see the same machine load.
    /// </summary>
    private static async Task<(FloorResult, SingleGroupResult)> FloorAndSingleGroupAsync(Cluster cluster, BenchOptions o)
    {
        Console.WriteLine($"\n== 1+2. floor and single-group failover: {o.Failovers} of each, interleaved, after {o.Warmup} warm-up rounds ==");
        var api = cluster.Api;
        await cluster.EnsureNamespaceAsync(FloorNs, BenchLabels);
        await cluster.EnsureNamespaceAsync(SingleNs, BenchLabels);

        await using var op = StartOperator(cluster, o, "single-group");
        await op.WaitReadyAsync(TimeSpan.FromSeconds(120));

        // The floor: a plain client doing the minimum a failover needs, on pods no group selects and a
        // Lease the operator does not watch.
        var floorKubelet = new KubeletStandIn(api, FloorNs);
        await using var floorTimeline = await FailoverTimeline.StartAsync(cluster.Watches, FloorNs, watchEndpoints: false);
        await Cluster.CreateMembersAsync(floorKubelet, "floor-probe", 2);
        var now = DateTime.UtcNow;
        var floorLease = await api.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease
        {
            Metadata = new V1ObjectMeta { Name = "floor-probe" },
            Spec = new V1LeaseSpec { HolderIdentity = "floor-probe-0", LeaseDurationSeconds = 15, AcquireTime = now, RenewTime = now, LeaseTransitions = 0 },
        }, FloorNs);
        await api.CoreV1.PatchNamespacedPodAsync(RolePatch(Roles.Active, "floor-probe"), "floor-probe-0", FloorNs);
        await api.CoreV1.PatchNamespacedPodAsync(RolePatch(Roles.Standby, "floor-probe"), "floor-probe-1", FloorNs);

        // The group.
        var kubelet = new KubeletStandIn(api, SingleNs);
        await using var timeline = await FailoverTimeline.StartAsync(cluster.Watches, SingleNs, watchEndpoints: true);
        await cluster.CreateActiveServiceAsync(SingleNs, SingleService, SingleGroup);
        await Cluster.CreateMembersAsync(kubelet, SingleGroup, Members);
        await cluster.CreateGroupAsync(SingleNs, SingleGroup, o.LeaseSeconds);
        await timeline.WaitAsync(() => timeline.IsSteady(SingleGroup, Members, SingleService), TimeSpan.FromSeconds(60), "the group to settle");

        var floorSamples = new List<FloorSample>();
        var failovers = new List<FailoverResult>();
        for (var i = -o.Warmup; i < o.Failovers; i++)
        {
            var (sample, lease) = await FloorSampleAsync(api, floorKubelet, floorTimeline, floorLease, i);
            floorLease = lease;
            var active = timeline.ActiveOf(SingleGroup)!;
            var failover = await timeline.FailAsync(SingleGroup, active, SingleService, () => kubelet.SetReadyAsync(active, false));
            var result = await failover.WaitAsync(TimeSpan.FromSeconds(30));
            if (result.To != result.LeaseHolder) throw new InvalidOperationException($"the Lease went to {result.LeaseHolder} but {result.To} was labelled active");
            await kubelet.SetReadyAsync(active, true);
            await timeline.WaitAsync(() => timeline.IsSteady(SingleGroup, Members, SingleService), TimeSpan.FromSeconds(30), "the group to settle after the restore");
            // A short, varying pause so rounds do not lock step with the operator's 7.5 s Lease renewals.
            await Task.Delay(100 + Random.Shared.Next(150));
            if (i < 0) continue;
            floorSamples.Add(sample);
            failovers.Add(result);
            if ((i + 1) % 10 == 0 || i + 1 == o.Failovers)
            {
                Console.WriteLine($"  {i + 1,3}/{o.Failovers}: floor p50 {Stats.Ms(Stats.Of(floorSamples.Select(s => s.TotalMs)).P50)}, " +
                                  $"failover -> labelled p50 {Stats.Ms(Stats.Of(failovers.Select(f => f.LabelledMs)).P50)}, " +
                                  $"-> Endpoints p50 {Stats.Ms(Stats.Of(failovers.Select(f => f.EndpointsMs ?? double.NaN)).P50)}");
            }
        }
        await op.StopAsync();

        var floor = new FloorResult(
            Stats.Of(floorSamples.Select(s => s.TotalMs)), Stats.Of(floorSamples.Select(s => s.WatchMs)),
            Stats.Of(floorSamples.Select(s => s.LeaseMs)), Stats.Of(floorSamples.Select(s => s.DemoteMs)),
            Stats.Of(floorSamples.Select(s => s.PromoteMs)), floorSamples);
        var single = new SingleGroupResult(
            Stats.Of(failovers.Select(f => f.WriteMs)),
            Stats.Of(failovers.Select(f => f.ObservedMs ?? double.NaN).Where(v => !double.IsNaN(v))),
            Stats.Of(failovers.Select(f => f.LeaseMs)), Stats.Of(failovers.Select(f => f.LabelledMs)),
            Stats.Of(failovers.Select(f => f.EndpointsMs!.Value)),
            failovers.Select(f => new FailoverSample(f.From, f.To, f.WriteMs, f.ObservedMs, f.LeaseMs, f.LabelledMs, f.EndpointsMs)).ToList());
        return (floor, single);
    }

    /// <summary>
    /// One floor sample: fail a probe pod (status patch), and as soon as a watcher sees it, update the
    /// Lease, demote it and promote the other, one after the other, as an operator minimally must.
    /// </summary>
    private static async Task<(FloorSample, V1Lease)> FloorSampleAsync(IKubernetes api, KubeletStandIn kubelet, FailoverTimeline watcher, V1Lease lease, int round)
    {
        var from = (round & 1) == 0 ? "floor-probe-0" : "floor-probe-1";
        var to = (round & 1) == 0 ? "floor-probe-1" : "floor-probe-0";
        var seen = watcher.WaitAsync(() => watcher.Pod(from) is { Ready: false }, TimeSpan.FromSeconds(10), $"{from} to be seen unready");
        var (_, acked) = await ResponseClock.TimeAsync(() => kubelet.SetReadyAsync(from, false));
        var observed = await seen;

        var now = DateTime.UtcNow;
        lease.Spec.HolderIdentity = to;
        lease.Spec.AcquireTime = now;
        lease.Spec.RenewTime = now;
        lease.Spec.LeaseTransitions = (lease.Spec.LeaseTransitions ?? 0) + 1;
        lease = await api.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, lease.Metadata.Name, FloorNs);
        var leased = Stopwatch.GetTimestamp();
        await api.CoreV1.PatchNamespacedPodAsync(RolePatch(Roles.Standby, "floor-probe"), from, FloorNs);
        var demoted = Stopwatch.GetTimestamp();
        await api.CoreV1.PatchNamespacedPodAsync(RolePatch(Roles.Active, "floor-probe"), to, FloorNs);
        var promoted = Stopwatch.GetTimestamp();

        await kubelet.SetReadyAsync(from, true);
        await watcher.WaitAsync(() => watcher.Pod(from) is { Ready: true, Role: Roles.Standby } && watcher.Pod(to) is { Role: Roles.Active },
            TimeSpan.FromSeconds(10), "the floor probes to settle");
        static double Ms(long a, long b) => (b - a) * 1000.0 / Stopwatch.Frequency;
        return (new FloorSample(Ms(acked, promoted), Ms(acked, observed), Ms(observed, leased), Ms(leased, demoted), Ms(demoted, promoted)), lease);
    }

    /// <summary>The same merge patch the operator sends: the role label and the group annotation.</summary>
    private static V1Patch RolePatch(string role, string group) => new(new Dictionary<string, object>
    {
        ["metadata"] = new Dictionary<string, object>
        {
            ["labels"] = new Dictionary<string, string?> { [FailoverTimeline.RoleLabel] = role },
            ["annotations"] = new Dictionary<string, string?> { [Roles.GroupAnnotation] = group },
        },
    }, V1Patch.PatchType.MergePatch);

    // ---------------------------------------------------------------- 3 + 4

    private static async Task<ScaleResult> ScaleAsync(Cluster cluster, BenchOptions o, int n, bool cleanUpWait)
    {
        var api = cluster.Api;
        var nsCount = (n + o.GroupsPerNamespace - 1) / o.GroupsPerNamespace;
        var namespaces = Enumerable.Range(0, nsCount).Select(k => $"fb-n{n}-{k:00}").ToList();
        var groups = Enumerable.Range(0, n).Select(g => (Ns: namespaces[g / o.GroupsPerNamespace], Name: $"g{g:0000}")).ToList();
        var result = new ScaleResult { Groups = n, Namespaces = nsCount };
        Console.WriteLine($"\n== 3+4. N={n} groups ({Members} pods each) in {nsCount} namespace(s) ==");

        var timelines = new Dictionary<string, FailoverTimeline>();
        var kubelets = groups.ToDictionary(g => g.Name, g => new KubeletStandIn(api, g.Ns));
        try
        {
            // Objects first, with the operator stopped, so its start is a cold start over N groups.
            var setup = Stopwatch.StartNew();
            await Parallel.ForEachAsync(namespaces, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (ns, _) => await cluster.EnsureNamespaceAsync(ns, BenchLabels));
            foreach (var ns in namespaces) timelines[ns] = await FailoverTimeline.StartAsync(cluster.Watches, ns, watchEndpoints: false);
            var created = 0;
            await Parallel.ForEachAsync(groups, new ParallelOptions { MaxDegreeOfParallelism = o.Concurrency }, async (g, _) =>
            {
                await Cluster.CreateMembersAsync(kubelets[g.Name], g.Name, Members);
                await cluster.CreateGroupAsync(g.Ns, g.Name, o.LeaseSeconds);
                var done = Interlocked.Increment(ref created);
                if (done % Math.Max(100, n / 5) == 0) Console.WriteLine($"  created {done}/{n} groups ({setup.Elapsed.TotalSeconds:0} s)");
            });
            result.SetupSeconds = setup.Elapsed.TotalSeconds;
            Console.WriteLine($"  {n} groups, {n * Members} pods created and Ready in {result.SetupSeconds:0.0} s (concurrency {o.Concurrency})");

            // Cold start.
            await using var op = StartOperator(cluster, o, $"n{n}");
            var ready = await op.WaitReadyAsync(TimeSpan.FromSeconds(180));
            result.StartToReadyMs = Ms(op.StartedAt, ready);
            var healthy = await Task.WhenAll(timelines.Values.Select(t =>
            {
                var expected = groups.Count(g => g.Ns == t.Namespace);
                return t.WaitAsync(() => t.CountGroups(g => g.Phase == GroupPhase.Healthy && g.ActivePod is not null) == expected,
                    TimeSpan.FromMinutes(5), $"all {expected} groups Healthy");
            }));
            result.StartToAllHealthyMs = Ms(op.StartedAt, healthy.Max());
            var afterStart = op.Sample();
            result.ColdStartCpuSeconds = afterStart.CpuSeconds;
            Console.WriteLine($"  operator start -> ready (caches synced) {result.StartToReadyMs / 1000:0.00} s, -> all {n} groups Healthy {result.StartToAllHealthyMs / 1000:0.00} s " +
                              $"({afterStart.CpuSeconds:0.0} CPU s)");

            // Steady state: once the start-up writes (Events) drained and the JIT's re-compilation of hot
            // code (tiered compilation) had time to settle.
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
            var minutes = Ms(p0.At, p1.At) / 60000;
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

            // Mass failover: every group's active fails in one burst.
            var targets = groups.Select(g => (g.Ns, g.Name, Active: timelines[g.Ns].ActiveOf(g.Name)
                ?? throw new InvalidOperationException($"group {g.Ns}/{g.Name} has no single active"))).ToList();
            var mb = await op.ScrapeAsync();
            using var sampling = new CancellationTokenSource();
            var maxDepth = 0.0;
            var sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    // A busy operator may answer slowly or not at all: a missed sample is fine.
                    try { maxDepth = Math.Max(maxDepth, (await op.ScrapeAsync()).Sum("failover_operator_workqueue_depth")); } catch (Exception) { }
                    try { await Task.Delay(250, sampling.Token); } catch (OperationCanceledException) { }
                }
            });
            using var gate = new SemaphoreSlim(o.BurstConcurrency);
            var pending = await Task.WhenAll(targets.Select(async t =>
            {
                await gate.WaitAsync();
                try
                {
                    return await timelines[t.Ns].FailAsync(t.Name, t.Active, null, () => Cluster.Retry(() => kubelets[t.Name].SetReadyAsync(t.Active, false)));
                }
                finally
                {
                    gate.Release();
                }
            }));
            var results = await Task.WhenAll(pending.Select(f => f.WaitAsync(TimeSpan.FromMinutes(3))));
            await sampling.CancelAsync();
            await sampler;
            var ml = await op.ScrapeAsync();
            var firstSent = results.Min(r => r.Sent);
            var lastAck = results.Max(r => r.Acked);
            var lastLabelled = results.Max(r => r.Labelled);
            var lastLease = results.Max(r => r.LeaseMoved);
            double D(string prefix) => ml.Sum(prefix) - mb.Sum(prefix);
            var reconciles = D("failover_operator_reconcile_duration_seconds_count");
            var operatorFailovers = D("failover_operator_failover_duration_seconds_count");
            result.Mass = new MassResult(
                BurstWriteMs: Ms(firstSent, lastAck),
                AllLeasesMovedMs: Ms(firstSent, lastLease),
                AllPromotedMs: Ms(firstSent, lastLabelled),
                AllPromotedAfterLastWriteMs: Ms(lastAck, lastLabelled),
                PerGroupLease: Stats.Of(results.Select(r => r.LeaseMs)),
                PerGroupLabelled: Stats.Of(results.Select(r => r.LabelledMs)),
                BurstConcurrency: o.BurstConcurrency)
            {
                Reconciles = reconciles,
                MeanReconcileMs = reconciles > 0 ? D("failover_operator_reconcile_duration_seconds_sum") / reconciles * 1000 : double.NaN,
                MeanOperatorFailoverMs = operatorFailovers > 0 ? D("failover_operator_failover_duration_seconds_sum") / operatorFailovers * 1000 : double.NaN,
                MaxQueueDepth = maxDepth,
                WritesUntilAllPromotedByVerb = Delta(mb.ApiRequests(), ml.ApiRequests()).Where(kv => !kv.Key.StartsWith("GET", StringComparison.Ordinal) && !kv.Key.StartsWith("WATCH", StringComparison.Ordinal))
                    .ToDictionary(kv => kv.Key, kv => kv.Value),
            };
            Console.WriteLine($"  mass failover: {n} failures written in {result.Mass.BurstWriteMs / 1000:0.00} s (concurrency {o.BurstConcurrency}); " +
                              $"all {n} groups had a new active {result.Mass.AllPromotedMs / 1000:0.00} s after the first was written " +
                              $"({result.Mass.AllPromotedAfterLastWriteMs / 1000:0.00} s after the last); per group p50 {Stats.Ms(result.Mass.PerGroupLabelled.P50)}, p99 {Stats.Ms(result.Mass.PerGroupLabelled.P99)}");
            Console.WriteLine($"  operator side: {reconciles:0} reconciles, mean {result.Mass.MeanReconcileMs:0} ms each; its own failover time (reconcile start -> labelled) mean " +
                              $"{result.Mass.MeanOperatorFailoverMs:0} ms; work queue depth up to {maxDepth:0}; its writes until the last promotion: {Verbs(result.Mass.WritesUntilAllPromotedByVerb, "")}");

            // What the burst cost: requests per failover, once the follow-up writes (status, Events) drained.
            await WaitQuietAsync(op, TimeSpan.FromSeconds(60));
            var m2 = await op.ApiRequestsAsync();
            var p2 = op.Sample();
            result.Mass.RequestsPerFailoverByVerb = Delta(m1, m2).ToDictionary(kv => kv.Key, kv => Math.Round(kv.Value / n, 2));
            result.PeakRssMb = p2.PeakRssMb;
            result.TotalCpuSeconds = p2.CpuSeconds;
            Console.WriteLine($"  the burst cost {Verbs(result.Mass.RequestsPerFailoverByVerb, "")} requests per failover (incl. steady renewals meanwhile); peak RSS {p2.PeakRssMb:0} MB");
            await op.StopAsync();

            // The mass floor: with the operator stopped, a plain client does the same minimum writes per
            // group (Lease update, demote, promote) for all N groups at the burst's concurrency.
            result.MassFloor = await MassFloorAsync(api, targets.Select(t => (t.Ns, t.Name, Failed: t.Active, Active: results.First(r => r.Group == t.Name).To)).ToList(), o.BurstConcurrency);
            Console.WriteLine($"  mass floor (plain client, {n} x [Lease update + 2 label patches], concurrency {o.BurstConcurrency}): all done in {result.MassFloor.AllDoneMs / 1000:0.00} s, " +
                              $"per group p50 {Stats.Ms(result.MassFloor.PerGroup.P50)}, p99 {Stats.Ms(result.MassFloor.PerGroup.P99)}");
        }
        finally
        {
            foreach (var t in timelines.Values) await t.DisposeAsync();
            var gone = await cluster.DeleteNamespacesAsync(namespaces, cleanUpWait ? TimeSpan.FromMinutes(2) : TimeSpan.Zero);
            if (cleanUpWait && !gone) Console.WriteLine("  (the namespaces are still terminating; continuing)");
        }
        return result;
    }

    /// <summary>
    /// The minimum writes of N failovers done by a plain client: for each group, the Lease moved back to
    /// the failed pod, the new active demoted, the failed pod promoted (a fail-back; the operator is
    /// stopped, so nothing reacts). The Leases are listed first, as an operator has them cached.
    /// </summary>
    private static async Task<MassFloorResult> MassFloorAsync(IKubernetes api, List<(string Ns, string Name, string Failed, string Active)> groups, int concurrency)
    {
        var leases = new Dictionary<string, V1Lease>();
        foreach (var ns in groups.Select(g => g.Ns).Distinct())
        {
            foreach (var l in (await api.CoordinationV1.ListNamespacedLeaseAsync(ns)).Items) leases[$"{ns}/{l.Metadata.Name}"] = l;
        }
        using var gate = new SemaphoreSlim(concurrency);
        var started = Stopwatch.GetTimestamp();
        var perGroup = await Task.WhenAll(groups.Select(async g =>
        {
            await gate.WaitAsync();
            try
            {
                var begin = Stopwatch.GetTimestamp();
                var lease = leases[$"{g.Ns}/{g.Name}"];
                var now = DateTime.UtcNow;
                lease.Spec.HolderIdentity = g.Failed;
                lease.Spec.AcquireTime = now;
                lease.Spec.RenewTime = now;
                await Cluster.Retry(() => api.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, g.Name, g.Ns));
                await Cluster.Retry(() => api.CoreV1.PatchNamespacedPodAsync(RolePatch(Roles.Standby, g.Name), g.Active, g.Ns));
                await Cluster.Retry(() => api.CoreV1.PatchNamespacedPodAsync(RolePatch(Roles.Active, g.Name), g.Failed, g.Ns));
                var end = Stopwatch.GetTimestamp();
                return (Ms: Ms(begin, end), End: end);
            }
            finally
            {
                gate.Release();
            }
        }));
        return new MassFloorResult(Ms(started, perGroup.Max(p => p.End)), Stats.Of(perGroup.Select(p => p.Ms)), concurrency);
    }

    /// <summary>Waits until the operator sent no POST (Events, creates) for 2 s, and at least 3 s. Returns the seconds waited.</summary>
    private static async Task<double> WaitQuietAsync(OperatorHost op, TimeSpan max)
    {
        var waited = Stopwatch.StartNew();
        double Posts(Dictionary<string, double> m) => m.Where(kv => kv.Key.StartsWith("POST", StringComparison.Ordinal)).Sum(kv => kv.Value);
        var last = Posts(await op.ApiRequestsAsync());
        var quietSince = Stopwatch.StartNew();
        while (waited.Elapsed < max)
        {
            await Task.Delay(500);
            var now = Posts(await op.ApiRequestsAsync());
            if (now != last) { last = now; quietSince.Restart(); }
            else if (quietSince.Elapsed >= TimeSpan.FromSeconds(2) && waited.Elapsed >= TimeSpan.FromSeconds(3)) break;
        }
        return waited.Elapsed.TotalSeconds;
    }

    private static Dictionary<string, double> Delta(Dictionary<string, double> before, Dictionary<string, double> after) =>
        after.Select(kv => (kv.Key, Value: kv.Value - before.GetValueOrDefault(kv.Key))).Where(kv => kv.Value > 0).ToDictionary(kv => kv.Key, kv => kv.Value);

    private static string Verbs(Dictionary<string, double> byVerb, string unit) =>
        byVerb.Count == 0 ? "none" : string.Join(", ", byVerb.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key}: {kv.Value:0.##}{unit}"));

    private static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;
}
