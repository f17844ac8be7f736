using FailoverOperator.Runtime;
using k8s;
using k8s.Models;

namespace FailoverOperator.Failover;

public enum Membership
{
    /// <summary>Neither selected by the group nor annotated as its member.</summary>
    None,
    /// <summary>Selected, and not claimed by another existing group.</summary>
    Member,
    /// <summary>Annotated as the group's member but no longer selected: its role label must come off.</summary>
    Former,
    /// <summary>Selected, but another existing group claimed it first and keeps it.</summary>
    ClaimedByOther,
}

/// <summary>
/// The one rule for which pods belong to a group. The reconciler's observation and the event
/// mappings both use it, so what wakes a group and what the group then sees cannot disagree.
/// </summary>
public static class GroupMembership
{
    /// <param name="groupExists">Whether a group of the pod's namespace with this name exists: a claim
    /// by a group that was deleted no longer holds.</param>
    public static Membership Of(HighAvailabilityGroup group, V1Pod pod, Func<string, bool> groupExists)
    {
        var name = group.Metadata.Name;
        var claimedBy = ClaimOf(pod);
        if (LabelSelectorMatcher.Matches(group.Spec?.Selector, pod.Metadata.Labels))
        {
            return claimedBy is null || claimedBy == name || !groupExists(claimedBy) ? Membership.Member : Membership.ClaimedByOther;
        }
        return claimedBy == name ? Membership.Former : Membership.None;
    }

    /// <summary>Whether a change of this pod can matter to the group, whoever else exists.</summary>
    public static bool Concerns(HighAvailabilityGroup group, V1Pod pod) => Of(group, pod, static _ => true) != Membership.None;

    /// <summary>The group a pod was made a member of, if any.</summary>
    public static string? ClaimOf(V1Pod pod) => pod.GetAnnotation(Roles.GroupAnnotation);
}
