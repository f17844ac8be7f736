using FailoverOperator.Runtime;
using k8s.Models;

namespace FailoverOperator.Failover;

/// <summary>
/// Which groups to reconcile when a watched object changes: one pure function per watched kind
/// (old is null for an add, current is null for a delete). A new watch adds one function here.
/// </summary>
public static class GroupMappings
{
    /// <param name="groupsIn">The groups of a namespace, as the cache holds them.</param>
    public static IEnumerable<string> FromGroup(HighAvailabilityGroup? old, HighAvailabilityGroup? current,
        Func<string, IEnumerable<HighAvailabilityGroup>> groupsIn)
    {
        var any = current ?? old!;
        yield return ObjectKey.Of(any);
        if (current is not null) yield break;
        // A deleted group frees the pods it claimed: another group of its namespace may select them.
        foreach (var other in groupsIn(any.Metadata.NamespaceProperty ?? ""))
        {
            if (other.Metadata.Name != any.Metadata.Name) yield return ObjectKey.Of(other);
        }
    }

    /// <summary>A group's Lease has the group's name. Only a new holder, a new or a deleted Lease matters: a
    /// renewal changes nothing the decision reads (the group already requeued itself for the next one).</summary>
    public static IEnumerable<string> FromLease(V1Lease? old, V1Lease? current)
    {
        if (old is not null && current is not null && old.Spec?.HolderIdentity == current.Spec?.HolderIdentity) return [];
        return [ObjectKey.Of(current ?? old!)];
    }

    public static IEnumerable<string> FromPod(V1Pod? old, V1Pod? current, Func<string, IEnumerable<HighAvailabilityGroup>> groupsIn)
    {
        var any = current ?? old!;
        var ns = any.Metadata.NamespaceProperty ?? "";
        // A claimed pod whose labels and claim did not change concerns only its own group (status
        // changes, the common case, including every failure): no walk over the namespace's groups.
        var claimedBy = GroupMembership.ClaimOf(any);
        if (old is not null && current is not null && claimedBy is not null
            && GroupMembership.ClaimOf(old) == claimedBy && SameLabels(old, current))
        {
            return [ObjectKey.Of(ns, claimedBy)];
        }
        return groupsIn(ns)
            .Where(g => (old is not null && GroupMembership.Concerns(g, old)) || (current is not null && GroupMembership.Concerns(g, current)))
            .Select(ObjectKey.Of)
            .ToList();
    }

    /// <summary>A node's heartbeat came back: the groups with a member there (a claimed one, or one a group's selector matches).</summary>
    public static IEnumerable<string> OnNode(string node, IEnumerable<V1Pod> pods, Func<string, IEnumerable<HighAvailabilityGroup>> groupsIn) =>
        pods.Where(p => p.Spec?.NodeName == node).SelectMany(p => FromPod(null, p, groupsIn)).Distinct().ToList();
    /// <summary>
    /// A node matters to the groups with members on it, and only when whether it is being drained, or its zone, changed
    /// (not its status, which its kubelet rewrites every few seconds). A new node has no pods yet: nothing to wake.
    /// </summary>
    /// <param name="allPods">Every pod in the cache.</param>
    public static IEnumerable<string> FromNode(V1Node? old, V1Node? current, Func<IEnumerable<V1Pod>> allPods)
    {
        if (old is null) return [];
        if (current is not null && NodeFacts.DrainOf(old) == NodeFacts.DrainOf(current) && NodeFacts.ZoneOf(old) == NodeFacts.ZoneOf(current)) return [];
        var node = old.Metadata.Name;
        return allPods()
            .Where(p => p.Spec?.NodeName == node && GroupMembership.ClaimOf(p) is not null)
            .Select(p => ObjectKey.Of(p.Metadata.NamespaceProperty, GroupMembership.ClaimOf(p)!))
            .Distinct()
            .ToList();
    }

    /// <summary>A group's PodDisruptionBudget (spec.protectActive) names the group as its controlling owner.</summary>
    public static IEnumerable<string> FromBudget(V1PodDisruptionBudget? old, V1PodDisruptionBudget? current)
    {
        var any = current ?? old!;
        return any.Metadata.OwnerReferences?
            .Where(o => o.Controller == true && o.Kind == HighAvailabilityGroup.KindName && o.ApiVersion == HighAvailabilityGroup.ApiVersionName)
            .Select(o => ObjectKey.Of(any.Metadata.NamespaceProperty, o.Name)).ToList() ?? [];
    }

    private static bool SameLabels(V1Pod a, V1Pod b)
    {
        var x = a.Metadata.Labels ?? new Dictionary<string, string>();
        var y = b.Metadata.Labels ?? new Dictionary<string, string>();
        return x.Count == y.Count && x.All(kv => y.TryGetValue(kv.Key, out var v) && v == kv.Value);
    }
}
