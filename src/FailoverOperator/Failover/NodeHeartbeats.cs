using FailoverOperator.Runtime;
using k8s.Models;

namespace FailoverOperator.Failover;

/// <summary>
/// The kubelets' heartbeats: each node's Lease in <c>kube-node-lease</c>, renewed by its kubelet about
/// every 10 s. A node whose Lease has not changed for <see cref="StaleAfter"/>, on this process's own
/// clock (never the renewTime another machine wrote), counts as lost, long before the node controller's
/// 40–50 s grace period marks it NotReady. A node this process has no Lease for is never judged, and a
/// Lease counts from the first time this process saw it as it is: a fresh start only waits longer.
/// </summary>
[RbacRule("coordination.k8s.io", "leases", "list", "watch", Scope = RbacScope.NodeHeartbeats)]
public sealed class NodeHeartbeats(TimeSpan staleAfter, TimeProvider time)
{
    /// <summary>Where the kubelets keep their heartbeat Leases, one per node, named after the node.</summary>
    public const string Namespace = "kube-node-lease";

    private readonly FirstSeen<(string? Holder, DateTime? RenewTime)> seen = new(time);

    public TimeSpan StaleAfter => staleAfter;

    /// <summary>
    /// Notes a change of a node's Lease; returns the node when its heartbeat came back after it had
    /// counted as lost (the groups with members there are due a look: they have a candidate again).
    /// </summary>
    public string? Observe(V1Lease? old, V1Lease? current)
    {
        if (current is null)
        {
            if (old is not null) seen.Forget(old.Metadata.Name);
            return null;
        }
        var node = current.Metadata.Name;
        var replaced = seen.Saw(node, Record(current));
        return replaced is { } previous && time.GetUtcNow() - previous.At >= staleAfter ? node : null;
    }

    /// <summary>How long until the node's heartbeat counts as lost: zero when it already does, null when it never will
    /// without a change (no node, or no Lease of it seen).</summary>
    public TimeSpan? LostIn(string? node, DateTimeOffset now)
    {
        if (node is null || seen.Latest(node) is not { } entry) return null;
        var left = staleAfter - (now - entry.At);
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    public bool IsLost(string? node, DateTimeOffset now) => LostIn(node, now) == TimeSpan.Zero;

    private static (string? Holder, DateTime? RenewTime) Record(V1Lease lease) => (lease.Spec?.HolderIdentity, lease.Spec?.RenewTime);
}
