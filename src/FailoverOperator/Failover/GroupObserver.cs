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
    public IReadOnlyList<IInformer> All => [Groups, Pods, Leases, .. Nodes is null ? Array.Empty<IInformer>() : [Nodes], .. Budgets is null ? Array.Empty<IInformer>() : [Budgets]];
}

/// <summary>One group as observed: the objects the execution writes to, and the decision's input.</summary>
public sealed record ObservedGroup(HighAvailabilityGroup Group, V1Lease? Lease, GroupObservation Observation)
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
                GroupLease.FailoverOf(lease), GroupLease.FencingOf(lease), caches.LeaseClock.SeenSince(lease, now), lease.Spec?.LeaseDurationSeconds)
            : null;

        var members = new List<PodState>();
        var formers = new List<string>();
        var claimedByOthers = new List<ForeignClaim>();
        foreach (var pod in caches.Pods.List(ns))
        {
            switch (GroupMembership.Of(group, pod, other => caches.Groups.Get(ns, other) is not null))
            {
                case Membership.Member:
                    members.Add(WithNode(ToPodState(pod, spec.RoleLabelKey, GroupMembership.ClaimOf(pod) == group.Metadata.Name)));
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
            ActiveUnhealthySince(group.Status, leaseState), now, claimedByOthers, fenced,
            // As written: answering it removes exactly this value (a JSON patch test).
            group.GetAnnotation(Roles.SwitchoverAnnotation) is { Length: > 0 } request ? request : null, group.Metadata.Name);
        return new ObservedGroup(group, lease, observation);
    }

    /// <summary>What the pod's node says: whether it is being drained, and its zone. A node not in the cache says nothing.</summary>
    private PodState WithNode(PodState pod) =>
        pod.Node is { } name && caches.Nodes?.Get(null, name) is { } node
            ? pod with { NodeDrain = NodeFacts.DrainOf(node), Zone = NodeFacts.ZoneOf(node) }
            : pod;

    /// <summary>The recorded failure start counts only while the same pod holds the Lease, so a new leader
    /// continues the failover delay instead of restarting it.</summary>
    private static DateTimeOffset? ActiveUnhealthySince(HighAvailabilityGroupStatus? status, LeaseState? lease) =>
        status?.ActiveFailure is { Pod: { } pod, Since: { } since } && pod == lease?.Holder ? ToOffset(since) : null;

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
            pod.Metadata.Uid);
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
