using FailoverOperator.Failover;
using FailoverOperator.Testing;
using k8s;
using k8s.Models;

namespace FailoverBench;

/// <summary>
/// Parts 1 and 2: floor samples and single-group failovers, interleaved so both see the same machine load.
/// </summary>
public static class SingleGroupBenchmark
{
    private const string FloorNs = "fb-floor";
    private const string SingleNs = "fb-single";
    private const string SingleGroup = "single";
    private const string SingleService = "single-active";
    public static readonly string[] Namespaces = [FloorNs, SingleNs];

    public static async Task<(FloorResult, SingleGroupResult)> RunAsync(Cluster cluster, BenchOptions o)
    {
        Console.WriteLine($"\n== 1+2. floor and single-group failover: {o.Failovers} of each, interleaved, after {o.Warmup} warm-up rounds ==");
        await cluster.EnsureNamespaceAsync(FloorNs, BenchCommand.BenchLabels);
        await cluster.EnsureNamespaceAsync(SingleNs, BenchCommand.BenchLabels);

        await using var op = await BenchCommand.StartOperatorAsync(cluster, o, "single-group");
        await op.WaitReadyAsync(TimeSpan.FromSeconds(120));
        var floor = await FloorProbe.StartAsync(cluster, FloorNs);
        await using var floorTimeline = floor.Timeline;
        var kubelet = new KubeletStandIn(cluster.Api, SingleNs);
        await using var timeline = await SetUpGroupAsync(cluster, o, kubelet);

        var floorSamples = new List<FloorSample>();
        var failovers = new List<FailoverResult>();
        for (var i = -o.Warmup; i < o.Failovers; i++)
        {
            var sample = await floor.SampleAsync(i);
            var result = await FailOverOnceAsync(timeline, kubelet);
            // A short, varying pause so rounds do not lock step with the operator's 7.5 s Lease renewals.
            await Task.Delay(100 + Random.Shared.Next(150));
            if (i < 0) continue;
            floorSamples.Add(sample);
            failovers.Add(result);
            if ((i + 1) % 10 == 0 || i + 1 == o.Failovers) PrintProgress(i + 1, o.Failovers, floorSamples, failovers);
        }
        await op.StopAsync();
        return (Summarize(floorSamples), Summarize(failovers));
    }

    /// <summary>The group with its Service, settled: one active, the Lease and status agreeing, the Endpoints following.</summary>
    private static async Task<FailoverTimeline> SetUpGroupAsync(Cluster cluster, BenchOptions o, KubeletStandIn kubelet)
    {
        var timeline = await FailoverTimeline.StartAsync(cluster.Watches, SingleNs, watchEndpoints: true);
        await cluster.CreateActiveServiceAsync(SingleNs, SingleService, SingleGroup);
        await Cluster.CreateMembersAsync(kubelet, SingleGroup, BenchCommand.Members);
        await cluster.CreateGroupAsync(SingleNs, SingleGroup, configure: s => s.LeaseDurationSeconds = o.LeaseSeconds ?? s.LeaseDurationSeconds);
        await timeline.WaitAsync(() => timeline.IsSteady(SingleGroup, BenchCommand.Members, SingleService), TimeSpan.FromSeconds(60), "the group to settle");
        return timeline;
    }

    /// <summary>Fails the active (Ready=False), measures the failover, then restores it and waits for the group to settle.</summary>
    private static async Task<FailoverResult> FailOverOnceAsync(FailoverTimeline timeline, KubeletStandIn kubelet)
    {
        var active = timeline.ActiveOf(SingleGroup)!;
        var failover = await timeline.FailAsync(SingleGroup, active, SingleService, () => kubelet.SetReadyAsync(active, false));
        var result = await failover.WaitAsync(TimeSpan.FromSeconds(30));
        if (result.To != result.LeaseHolder) throw new InvalidOperationException($"the Lease went to {result.LeaseHolder} but {result.To} was labelled active");
        await kubelet.SetReadyAsync(active, true);
        await timeline.WaitAsync(() => timeline.IsSteady(SingleGroup, BenchCommand.Members, SingleService), TimeSpan.FromSeconds(30), "the group to settle after the restore");
        return result;
    }

    private static void PrintProgress(int done, int total, List<FloorSample> floor, List<FailoverResult> failovers) =>
        Console.WriteLine($"  {done,3}/{total}: floor p50 {Stats.Ms(Stats.Of(floor.Select(s => s.TotalMs)).P50)}, " +
                          $"failover -> labelled p50 {Stats.Ms(Stats.Of(failovers.Select(f => f.LabelledMs)).P50)}, " +
                          $"-> Endpoints p50 {Stats.Ms(Stats.Of(failovers.Select(f => f.EndpointsMs ?? double.NaN)).P50)}");

    private static FloorResult Summarize(List<FloorSample> s) => new(
        Stats.Of(s.Select(x => x.TotalMs)), Stats.Of(s.Select(x => x.WatchMs)), Stats.Of(s.Select(x => x.LeaseMs)),
        Stats.Of(s.Select(x => x.DemoteMs)), Stats.Of(s.Select(x => x.PromoteMs)), s);

    private static SingleGroupResult Summarize(List<FailoverResult> f) => new(
        Stats.Of(f.Select(x => x.WriteMs)),
        Stats.Of(f.Select(x => x.ObservedMs ?? double.NaN).Where(v => !double.IsNaN(v))),
        Stats.Of(f.Select(x => x.LeaseMs)), Stats.Of(f.Select(x => x.LabelledMs)),
        Stats.Of(f.Select(x => x.EndpointsMs!.Value)),
        f.Select(x => new FailoverSample(x.From, x.To, x.WriteMs, x.ObservedMs, x.LeaseMs, x.LabelledMs, x.EndpointsMs)).ToList());
}
