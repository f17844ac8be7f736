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

    private static bool SameLabels(V1Pod a, V1Pod b)
    {
        var x = a.Metadata.Labels ?? new Dictionary<string, string>();
        var y = b.Metadata.Labels ?? new Dictionary<string, string>();
        return x.Count == y.Count && x.All(kv => y.TryGetValue(kv.Key, out var v) && v == kv.Value);
    }
}
