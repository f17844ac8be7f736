using FailoverOperator.Runtime;
using k8s;
using k8s.Models;

namespace FailoverOperator.Failover;

/// <summary>The caches a failover decision is observed from, and when each Lease was last seen to change.</summary>
public sealed record FailoverCaches(
    Informer<HighAvailabilityGroup, CustomResourceList<HighAvailabilityGroup>> Groups,
    Informer<V1Pod, V1PodList> Pods,
    Informer<V1Lease, V1LeaseList> Leases,
    LeaseClock LeaseClock,
    Informer<V1Node, V1NodeList>? Nodes = null,
    Informer<V1PodDisruptionBudget, V1PodDisruptionBudgetList>? Budgets = null)
{
    /// <summary>The kubelets' heartbeat Leases and what they say, when node-loss detection is on.</summary>
    public (Informer<V1Lease, V1LeaseList> Leases, NodeHeartbeats Clock)? Heartbeats { get; init; }

    public IReadOnlyList<IInformer> All =>
    [
        Groups, Pods, Leases,
        .. Nodes is null ? Array.Empty<IInformer>() : [Nodes],
        .. Budgets is null ? Array.Empty<IInformer>() : [Budgets],
        .. Heartbeats is { } heartbeats ? [heartbeats.Leases] : Array.Empty<IInformer>(),
    ];
}

/// <summary>One group as observed: the objects the execution writes to, and the decision's input.</summary>
/// <param name="NodeLostIn">When, with no other change, a member's node will count as lost: the group is looked at again then.</param>
public sealed record ObservedGroup(HighAvailabilityGroup Group, V1Lease? Lease, GroupObservation Observation, TimeSpan? NodeLostIn = null)
{
    public string Namespace => Group.Metadata.NamespaceProperty;
    public string Name => Group.Metadata.Name;
}

/// <summary>The observe step: from the caches to a <see cref="GroupObservation"/>, reading nothing else.</summary>
public sealed class GroupObserver(FailoverCaches caches)
{
    /// <summary>Null when the group no longer exists.</summary>
    public ObservedGroup? Observe(string key, DateTimeOffset now)
    {
        var group = caches.Groups.Get(key);
        if (group is null) return null;

        var ns = group.Metadata.NamespaceProperty;
        var spec = group.Spec ?? new HighAvailabilityGroupSpec();
        var lease = caches.Leases.Get(ns, group.Metadata.Name);
        // A Lease without a spec is still there: replaced, not created again (which would conflict).
        var leaseState = lease is not null
            ? new LeaseState(lease.Spec?.HolderIdentity, ToOffset(lease.Spec?.RenewTime), lease.Spec?.LeaseTransitions ?? 0,
                GroupLease.FailoverOf(lease), GroupLease.FencingOf(lease), caches.LeaseClock.SeenSince(lease, now), lease.Spec?.LeaseDurationSeconds,
                GroupLease.ActivesOf(lease), caches.LeaseClock.LastRenewal(lease))
            : null;

        var members = new List<PodState>();
        var formers = new List<string>();
        var claimedByOthers = new List<ForeignClaim>();
        foreach (var pod in caches.Pods.List(ns))
        {
            switch (GroupMembership.Of(group, pod, other => caches.Groups.Get(ns, other) is not null))
            {
                case Membership.Member:
                    members.Add(WithNode(ToPodState(pod, spec.RoleLabelKey, GroupMembership.ClaimOf(pod) == group.Metadata.Name)) with { NodeLost = NodeLost(pod, now) });
                    break;
                case Membership.Former:
                    formers.Add(pod.Metadata.Name);
                    break;
                case Membership.ClaimedByOther:
                    claimedByOthers.Add(new ForeignClaim(pod.Metadata.Name, GroupMembership.ClaimOf(pod)!));
                    break;
            }
        }

        // The pod being fenced is looked up whatever its membership (its acknowledgement counts even after
        // it stopped matching the selector), but only the very pod: one recreated under its name proves nothing.
        var fenced = leaseState?.Fencing is { From: { } from } fencing && caches.Pods.Get(ns, from) is { } fencedPod
                     && (fencing.Uid is null || fencing.Uid == fencedPod.Metadata.Uid)
            ? WithNode(ToPodState(fencedPod, spec.RoleLabelKey, annotated: false))
            : null;
        var observation = new GroupObservation(group.Metadata.Generation ?? 0, spec, group.Status, members, formers, leaseState,
            ActiveUnhealthySince(group.Status, leaseState, members), now, claimedByOthers, fenced,
            // As written: answering it removes exactly this value (a JSON patch test).
            group.GetAnnotation(Roles.SwitchoverAnnotation) is { Length: > 0 } request ? request : null, group.Metadata.Name);
        return new ObservedGroup(group, lease, observation, NextNodeLoss(members, now));
    }

    /// <summary>What the pod's node says: whether it is being drained, and its zone. A node not in the cache says nothing.</summary>
    private PodState WithNode(PodState pod) =>
        pod.Node is { } name && caches.Nodes?.Get(null, name) is { } node
            ? pod with { NodeDrain = NodeFacts.DrainOf(node), Zone = NodeFacts.ZoneOf(node) }
            : pod;

    private bool NodeLost(V1Pod pod, DateTimeOffset now) => caches.Heartbeats?.Clock.IsLost(pod.Spec?.NodeName, now) == true;

    /// <summary>The soonest a member's node not yet lost will be, were its heartbeat to stop now.</summary>
    private TimeSpan? NextNodeLoss(IEnumerable<PodState> members, DateTimeOffset now) =>
        caches.Heartbeats is { Clock: var heartbeats }
            ? members.Where(m => !m.NodeLost).Select(m => heartbeats.LostIn(m.Node, now)).Where(t => t > TimeSpan.Zero).Min()
            : null;

    /// <summary>The recorded failure start counts only while the same pod holds the Lease, so a new leader
    /// continues the failover delay instead of restarting it; and only while the pod's Ready condition is
    /// the one recorded with it: a pod that recovered and failed again while no operator looked has a new
    /// failure, whose delay starts now.</summary>
    private static DateTimeOffset? ActiveUnhealthySince(HighAvailabilityGroupStatus? status, LeaseState? lease, IEnumerable<PodState> members) =>
        status?.ActiveFailure is { Pod: { } pod, Since: { } since } failure && pod == lease?.Holder
        && (failure.ReadyTransition is null || members.FirstOrDefault(m => m.Name == pod) is not { } holder || holder.ReadyTransition == failure.ReadyTransition)
            ? ToOffset(since)
            : null;

    private static PodState ToPodState(V1Pod pod, string roleKey, bool annotated)
    {
        var priority = PriorityOf(pod);
        var promotable = PromotableOf(pod);
        var ready = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");
        var isReady = ready?.Status == "True";
        return new PodState(
            pod.Metadata.Name,
            pod.GetLabel(roleKey),
            annotated,
            pod.Status?.Phase,
            isReady,
            isReady ? ToOffset(ready!.LastTransitionTime) : null,
            pod.Metadata.DeletionTimestamp is not null,
            int.TryParse(pod.GetAnnotation(Roles.DemotedTermAnnotation), out var term) ? term : null,
            Stopped(pod),
            priority.Value,
            promotable.Value,
            pod.Spec?.NodeName,
            priority.Problem ?? promotable.Problem,
            pod.Metadata.Uid,
            ReadyTransition: ready?.LastTransitionTime);
    }

    /// <summary>failover.dev/priority: an integer, default 0; anything else is reported and read as 0.</summary>
    private static (int Value, string? Problem) PriorityOf(V1Pod pod) =>
        pod.GetAnnotation(Roles.PriorityAnnotation) is not { } raw ? (0, null)
        : int.TryParse(raw, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var value) ? (value, null)
        : (0, $"{Roles.PriorityAnnotation}=\"{raw}\" is not an integer; read as 0");

    /// <summary>failover.dev/promotable: "false" excludes the pod, "true" or nothing does not; anything else is reported and read as true.</summary>
    private static (bool Value, string? Problem) PromotableOf(V1Pod pod) => pod.GetAnnotation(Roles.PromotableAnnotation) switch
    {
        null or "true" => (true, null),
        "false" => (false, null),
        var raw => (true, $"{Roles.PromotableAnnotation}=\"{raw}\" is neither \"true\" nor \"false\"; read as true"),
    };

    /// <summary>The kubelet reports that nothing of the pod runs any more.</summary>
    private static bool Stopped(V1Pod pod) =>
        pod.Status?.Phase is "Failed" or "Succeeded"
        || (pod.Status?.ContainerStatuses is { Count: > 0 } containers && containers.All(c => c.State?.Terminated is not null));

    internal static DateTimeOffset? ToOffset(DateTime? value) =>
        value is { } v ? new DateTimeOffset(DateTime.SpecifyKind(v, DateTimeKind.Utc)) : null;
}
