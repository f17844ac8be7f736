using FailoverOperator.Failover;
using k8s.Models;

namespace FailoverOperator.UnitTests;

/// <summary>The membership rule and the named event mappings built on it.</summary>
public class GroupMappingsTests
{
    private static HighAvailabilityGroup Group(string name, string app) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "ns" },
        Spec = new HighAvailabilityGroupSpec { Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = app } } },
    };

    private static V1Pod Pod(string app, string? claimedBy = null, string phase = "Running") => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = "p",
            NamespaceProperty = "ns",
            Labels = new Dictionary<string, string> { ["app"] = app },
            Annotations = claimedBy is null ? null : new Dictionary<string, string> { [Roles.GroupAnnotation] = claimedBy },
        },
        Status = new V1PodStatus { Phase = phase },
    };

    private static readonly HighAvailabilityGroup Db = Group("db", "db");
    private static readonly HighAvailabilityGroup Cache = Group("cache", "cache");
    private static IEnumerable<HighAvailabilityGroup> Both(string ns) => ns == "ns" ? [Db, Cache] : [];

    [Theory]
    [InlineData("db", null, true, Membership.Member)]
    [InlineData("db", "db", true, Membership.Member)]
    [InlineData("db", "other", true, Membership.ClaimedByOther)]
    [InlineData("db", "other", false, Membership.Member)] // the claiming group was deleted
    [InlineData("web", "db", true, Membership.Former)]
    [InlineData("web", null, true, Membership.None)]
    [InlineData("web", "other", true, Membership.None)]
    public void MembershipFollowsTheSelectorAndTheClaim(string app, string? claimedBy, bool claimantExists, Membership expected) =>
        Assert.Equal(expected, GroupMembership.Of(Db, Pod(app, claimedBy), _ => claimantExists));

    [Fact]
    public void AStatusChangeOfAClaimedPodWakesOnlyItsGroup()
    {
        var keys = GroupMappings.FromPod(Pod("db", "db"), Pod("db", "db", phase: "Failed"), _ => throw new InvalidOperationException("no walk expected"));
        Assert.Equal(["ns/db"], keys);
    }

    [Fact]
    public void ALabelChangeWakesTheGroupsThatSelectedThePodBeforeAndAfter()
    {
        Assert.Equal(["ns/db", "ns/cache"], GroupMappings.FromPod(Pod("db", "db"), Pod("cache", "db"), Both));
        Assert.Equal(["ns/cache"], GroupMappings.FromPod(null, Pod("cache"), Both));
        Assert.Equal(["ns/db"], GroupMappings.FromPod(Pod("db"), null, Both));
        Assert.Empty(GroupMappings.FromPod(null, Pod("web"), Both));
    }

    [Fact]
    public void APodClaimedByAnotherGroupStillWakesTheGroupThatSelectsIt()
    {
        Assert.Equal(["ns/db"], GroupMappings.FromPod(null, Pod("db", "other"), Both));
    }

    [Fact]
    public void ADeletedGroupWakesTheOtherGroupsOfItsNamespace()
    {
        Assert.Equal(["ns/db"], GroupMappings.FromGroup(null, Db, Both));
        Assert.Equal(["ns/db"], GroupMappings.FromGroup(Db, Db, Both));
        Assert.Equal(["ns/db", "ns/cache"], GroupMappings.FromGroup(Db, null, Both));
    }

    private static V1Lease Lease(string? holder, string renewTime = "2026-01-01T00:00:00Z") => new()
    {
        Metadata = new V1ObjectMeta { Name = "db", NamespaceProperty = "ns" },
        Spec = new V1LeaseSpec { HolderIdentity = holder, RenewTime = DateTime.Parse(renewTime).ToUniversalTime() },
    };

    [Fact]
    public void OnlyANewHolderOrANewOrDeletedLeaseWakesTheGroup()
    {
        Assert.Empty(GroupMappings.FromLease(Lease("a"), Lease("a", "2026-01-01T00:00:07Z")));
        Assert.Equal(["ns/db"], GroupMappings.FromLease(Lease("a"), Lease("b")));
        Assert.Equal(["ns/db"], GroupMappings.FromLease(null, Lease("a")));
        Assert.Equal(["ns/db"], GroupMappings.FromLease(Lease("a"), null));
    }
}
