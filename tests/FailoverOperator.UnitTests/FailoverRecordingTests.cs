using FailoverOperator.Failover;
using k8s.Models;

namespace FailoverOperator.UnitTests;

/// <summary>Failover records that survive a crash between the Lease commit and the status write, and bad specs.</summary>
public class FailoverRecordingTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly V1LabelSelector Selector = new() { MatchLabels = new Dictionary<string, string> { ["app"] = "db" } };

    private static PodState Ready(string name, string role) => new(name, role, true, "Running", true, T0.AddSeconds(-60), false);

    private static GroupObservation Observe(LeaseState lease, HighAvailabilityGroupStatus? status, HighAvailabilityGroupSpec? spec = null,
        IReadOnlyList<PodState>? members = null, IReadOnlyList<ForeignClaim>? claimed = null) =>
        new(1, spec ?? new HighAvailabilityGroupSpec { Selector = Selector }, status,
            members ?? [Ready("a", Roles.Standby), Ready("b", Roles.Active)], [], lease, null, T0, claimed);

    private static readonly FailoverRecord Committed = new()
    {
        From = "a", To = "b", Reason = FailoverReasons.NotReady, DetectedAt = T0.AddSeconds(-2).UtcDateTime, Term = 3,
    };

    [Fact]
    public void AFailoverCommittedToTheLeaseButNotRecordedIsRecordedByTheNextReconcile()
    {
        var plan = FailoverDecision.Decide(Observe(new LeaseState("b", T0, 3, Committed),
            new HighAvailabilityGroupStatus { LastFailover = Committed with { Term = 2 }, FailoverCount = 2 }));
        Assert.Equal(Committed, plan.Failover);
        Assert.Equal(3, plan.Status.FailoverCount);
        Assert.Equal([EventReasons.FailoverStarted, EventReasons.Promoted], plan.Events.Select(e => e.Reason));
    }

    [Fact]
    public void ARecordedFailoverIsNotRecordedTwice()
    {
        var plan = FailoverDecision.Decide(Observe(new LeaseState("b", T0, 3, Committed), new HighAvailabilityGroupStatus { LastFailover = Committed }));
        Assert.Null(plan.Failover);
        Assert.Empty(plan.Events);
    }

    [Fact]
    public void AnUnrecordedFailoverIsRecordedEvenWhenTheHolderMovedOnSince()
    {
        // The failover to b happened (term 3); someone moved the Lease since. History keeps it.
        var plan = FailoverDecision.Decide(Observe(new LeaseState("a", T0, 4, Committed), null,
            members: [Ready("a", Roles.Active), Ready("b", Roles.Standby)]));
        Assert.Equal(Committed, plan.Failover);
        Assert.Equal(Committed, plan.Status.LastFailover);
        Assert.Equal(4, plan.Status.FailoverCount);
    }

    [Fact]
    public void AnUnrecordedFailoverSupersededByANewOneStillGetsItsEventsAndMetric()
    {
        // kill -9 after a->b committed; b failed before anyone reconciled: the new failover b->a records
        // itself, and the earlier one is not lost.
        var plan = FailoverDecision.Decide(Observe(new LeaseState("b", T0, 3, Committed), null,
            members: [Ready("a", Roles.Standby), new PodState("b", Roles.Active, true, "Running", false, null, false)]));
        Assert.Equal(("b", "a", 4), (plan.Failover!.From, plan.Failover.To, plan.Failover.Term));
        Assert.Equal(Committed, plan.EarlierFailover);
        Assert.Equal(2, plan.Events.Count(e => e.Reason == EventReasons.FailoverStarted));
    }

    [Fact]
    public void ARefusedSpecWritesNothingButItsStatusAndOneEvent()
    {
        var spec = new HighAvailabilityGroupSpec
        {
            Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["tier"] = "x" } }, RoleLabelKey = "tier",
        };
        var plan = FailoverDecision.Decide(Observe(new LeaseState("a", T0.AddMinutes(-5)), null, spec,
            members: [Ready("a", Roles.Standby), new PodState("b", null, false, "Running", true, T0, false)]));
        Assert.Equal(LeaseAction.None, plan.Lease);
        Assert.Empty(plan.RoleChanges);
        Assert.Equal(GroupPhase.Invalid, plan.Status.Phase);
        var invalid = plan.Status.Conditions!.Single(c => c.Type == ConditionTypes.InvalidSpec);
        Assert.Equal("True", invalid.Status);
        Assert.Contains("spec.roleLabelKey \"tier\" is also a key of spec.selector", invalid.Message);
        Assert.Equal(EventReasons.InvalidSpec, Assert.Single(plan.Events).Reason);
        Assert.Null(plan.RequeueAfter);

        var again = FailoverDecision.Decide(Observe(new LeaseState("a", T0.AddMinutes(-5)), plan.Status, spec));
        Assert.Empty(again.Events);
    }

    [Fact]
    public void PodsHeldByAnotherGroupAreNamedWithThatGroup()
    {
        var plan = FailoverDecision.Decide(Observe(null!, null, members: [], claimed: [new ForeignClaim("db-1", "other"), new ForeignClaim("db-0", "other")]));
        var available = plan.Status.Conditions!.Single(c => c.Type == ConditionTypes.Available);
        Assert.Equal("MembersClaimedByAnotherGroup", available.Reason);
        Assert.Contains("db-0 (group other), db-1 (group other)", available.Message);
    }
}
