using System.Diagnostics;
using FailoverOperator.Failover;
using FailoverOperator.Testing;
using k8s;
using k8s.Models;

namespace FailoverBench;

/// <summary>
/// The floor: a plain client doing the minimum a failover needs (see the failure, move the Lease, demote,
/// promote), on pods no group selects and a Lease the operator does not watch; what no operator can beat.
/// </summary>
public sealed class FloorProbe
{
    private const string Group = "floor-probe";
    private readonly IKubernetes api;
    private readonly string ns;
    private readonly KubeletStandIn kubelet;
    private V1Lease lease;

    private FloorProbe(IKubernetes api, string ns, KubeletStandIn kubelet, FailoverTimeline timeline, V1Lease lease)
    {
        this.api = api;
        this.ns = ns;
        this.kubelet = kubelet;
        Timeline = timeline;
        this.lease = lease;
    }

    /// <summary>Its pod watch; the caller disposes it.</summary>
    public FailoverTimeline Timeline { get; }

    /// <summary>Two probe pods, floor-probe-0 active holding the Lease and floor-probe-1 standby.</summary>
    public static async Task<FloorProbe> StartAsync(Cluster cluster, string ns)
    {
        var api = cluster.Api;
        var kubelet = new KubeletStandIn(api, ns);
        var timeline = await FailoverTimeline.StartAsync(cluster.Watches, ns, watchEndpoints: false);
        await Cluster.CreateMembersAsync(kubelet, Group, 2);
        var now = DateTime.UtcNow;
        var lease = await api.CoordinationV1.CreateNamespacedLeaseAsync(new V1Lease
        {
            Metadata = new V1ObjectMeta { Name = Group },
            Spec = new V1LeaseSpec { HolderIdentity = $"{Group}-0", LeaseDurationSeconds = 15, AcquireTime = now, RenewTime = now, LeaseTransitions = 0 },
        }, ns);
        await api.CoreV1.PatchNamespacedPodAsync(RolePatch(Roles.Active, Group), $"{Group}-0", ns);
        await api.CoreV1.PatchNamespacedPodAsync(RolePatch(Roles.Standby, Group), $"{Group}-1", ns);
        return new FloorProbe(api, ns, kubelet, timeline, lease);
    }

    /// <summary>
    /// One sample: fail a probe pod (status patch), and as soon as the watch sees it, update the Lease,
    /// demote it and promote the other, one after the other, as an operator minimally must.
    /// </summary>
    public async Task<FloorSample> SampleAsync(int round)
    {
        var from = (round & 1) == 0 ? $"{Group}-0" : $"{Group}-1";
        var to = (round & 1) == 0 ? $"{Group}-1" : $"{Group}-0";
        var seen = Timeline.WaitAsync(() => Timeline.Pod(from) is { Ready: false }, TimeSpan.FromSeconds(10), $"{from} to be seen unready");
        var (_, acked) = await ResponseClock.TimeAsync(() => kubelet.SetReadyAsync(from, false));
        var observed = await seen;

        lease = await api.CoordinationV1.ReplaceNamespacedLeaseAsync(Handed(lease, to), lease.Metadata.Name, ns);
        var leased = Stopwatch.GetTimestamp();
        await api.CoreV1.PatchNamespacedPodAsync(RolePatch(Roles.Standby, Group), from, ns);
        var demoted = Stopwatch.GetTimestamp();
        await api.CoreV1.PatchNamespacedPodAsync(RolePatch(Roles.Active, Group), to, ns);
        var promoted = Stopwatch.GetTimestamp();

        await kubelet.SetReadyAsync(from, true);
        await Timeline.WaitAsync(() => Timeline.Pod(from) is { Ready: true, Role: Roles.Standby } && Timeline.Pod(to) is { Role: Roles.Active },
            TimeSpan.FromSeconds(10), "the floor probes to settle");
        return new FloorSample(BenchCommand.Ms(acked, promoted), BenchCommand.Ms(acked, observed), BenchCommand.Ms(observed, leased),
            BenchCommand.Ms(leased, demoted), BenchCommand.Ms(demoted, promoted));
    }

    /// <summary>
    /// The minimum writes of N failovers done by a plain client: for each group, the Lease moved back to
    /// the failed pod, the new active demoted, the failed pod promoted (a fail-back; the operator is
    /// stopped, so nothing reacts). The Leases are listed first, as an operator has them cached.
    /// </summary>
    public static async Task<MassFloorResult> MassAsync(IKubernetes api, List<(string Ns, string Name, string Failed, string Active)> groups, int concurrency)
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
                await Cluster.Retry(() => api.CoordinationV1.ReplaceNamespacedLeaseAsync(Handed(leases[$"{g.Ns}/{g.Name}"], g.Failed, transition: false), g.Name, g.Ns));
                await Cluster.Retry(() => api.CoreV1.PatchNamespacedPodAsync(RolePatch(Roles.Standby, g.Name), g.Active, g.Ns));
                await Cluster.Retry(() => api.CoreV1.PatchNamespacedPodAsync(RolePatch(Roles.Active, g.Name), g.Failed, g.Ns));
                var end = Stopwatch.GetTimestamp();
                return (Ms: BenchCommand.Ms(begin, end), End: end);
            }
            finally
            {
                gate.Release();
            }
        }));
        return new MassFloorResult(BenchCommand.Ms(started, perGroup.Max(p => p.End)), Stats.Of(perGroup.Select(p => p.Ms)), concurrency);
    }

    private static V1Lease Handed(V1Lease lease, string holder, bool transition = true)
    {
        var now = DateTime.UtcNow;
        lease.Spec.HolderIdentity = holder;
        lease.Spec.AcquireTime = now;
        lease.Spec.RenewTime = now;
        if (transition) lease.Spec.LeaseTransitions = (lease.Spec.LeaseTransitions ?? 0) + 1;
        return lease;
    }

    /// <summary>The same merge patch the operator sends: the role label and the group annotation.</summary>
    private static V1Patch RolePatch(string role, string group) => new(new Dictionary<string, object>
    {
        ["metadata"] = new Dictionary<string, object>
        {
            ["labels"] = new Dictionary<string, string?> { [Cluster.RoleLabel] = role },
            ["annotations"] = new Dictionary<string, string?> { [Roles.GroupAnnotation] = group },
        },
    }, V1Patch.PatchType.MergePatch);
}
