using FailoverOperator.Failover;
using k8s.Models;

namespace FailoverOperator.UnitTests;

/// <summary>The Lease contract: named, labelled and owned like the group; transitions count changes of a named holder.</summary>
public class GroupLeaseTests
{
    private static readonly DateTime T0 = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    private static readonly HighAvailabilityGroup Group = new()
    {
        Metadata = new V1ObjectMeta { Name = "db", NamespaceProperty = "ns", Uid = "uid-1" },
        Spec = new HighAvailabilityGroupSpec { LeaseDurationSeconds = 9 },
    };

    [Fact]
    public void ANewLeaseIsNamedLabelledAndOwnedLikeItsGroup()
    {
        var lease = GroupLease.New(Group, "a", T0);
        Assert.Equal(("db", "ns"), (lease.Metadata.Name, lease.Metadata.NamespaceProperty));
        Assert.Equal("db", lease.Metadata.Labels[Roles.LeaseGroupLabel]);
        var owner = Assert.Single(lease.Metadata.OwnerReferences);
        Assert.Equal((HighAvailabilityGroup.KindName, "db", "uid-1", true), (owner.Kind, owner.Name, owner.Uid, owner.Controller));
        Assert.Equal(("a", 9, 0, T0, T0), (lease.Spec.HolderIdentity, lease.Spec.LeaseDurationSeconds, lease.Spec.LeaseTransitions, lease.Spec.AcquireTime, lease.Spec.RenewTime));
    }

    [Fact]
    public void ARenewalKeepsTheAcquireTimeAndTheTransitions()
    {
        var current = GroupLease.New(Group, "a", T0);
        var next = GroupLease.Next(current, Group, "a", T0.AddSeconds(5));
        Assert.Equal((T0, T0.AddSeconds(5), 0), (next.Spec.AcquireTime, next.Spec.RenewTime, next.Spec.LeaseTransitions));
        Assert.Equal(current.Metadata.ResourceVersion, next.Metadata.ResourceVersion); // makes the write optimistic
    }

    [Fact]
    public void EveryChangeOfHolderStartsTheNextTermAFailoverTheTermItsRecordNames()
    {
        var current = GroupLease.New(Group, "a", T0);
        var moved = GroupLease.Next(current, Group, "b", T0.AddSeconds(1));
        Assert.Equal(("b", 1, T0.AddSeconds(1)), (moved.Spec.HolderIdentity, moved.Spec.LeaseTransitions, moved.Spec.AcquireTime));
        // An empty holder may hide a term nobody can name: taking it starts a new one.
        var taken = GroupLease.Next(GroupLease.New(Group, null, T0), Group, "b", T0.AddSeconds(1));
        Assert.Equal(1, taken.Spec.LeaseTransitions);
        var failover = GroupLease.Next(GroupLease.New(Group, null, T0, term: 4), Group, "b", T0.AddSeconds(1), new FailoverRecord { Term = 5 });
        Assert.Equal(5, failover.Spec.LeaseTransitions);
    }
}
