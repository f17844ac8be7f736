using FailoverOperator.Failover;
using k8s.Models;

namespace FailoverOperator.UnitTests;

/// <summary>A requested switchover: refused with its reason, or carried out break-before-make.</summary>
public class SwitchoverDecisionTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly V1LabelSelector Selector = new() { MatchLabels = new Dictionary<string, string> { ["app"] = "db" } };

    private static PodState Pod(string name, string role = Roles.Standby, bool ready = true, bool promotable = true, int readyAt = -60, string node = "n1") =>
        new(name, role, true, "Running", ready, ready ? T0.AddSeconds(readyAt) : null, false, Promotable: promotable, Node: node);

    private static FailoverPlan Decide(string request, IReadOnlyList<PodState>? members = null, HighAvailabilityGroupSpec? spec = null, LeaseState? lease = null) =>
        FailoverDecision.Decide(new GroupObservation(1, spec ?? new HighAvailabilityGroupSpec { Selector = Selector }, null,
            members ?? [Pod("a", Roles.Active), Pod("b"), Pod("c", readyAt: -30)], [], lease ?? new LeaseState("a", T0, 2), null, T0, SwitchoverRequest: request));

    [Fact]
    public void ARequestedSwitchoverMovesTheActiveBreakBeforeMake()
    {
        var plan = Decide("c");
        Assert.Equal((LeaseActionKind.Transfer, "c", FailoverReasons.Switchover, 3), (plan.Lease.Kind, plan.Lease.Holder, plan.Failover!.Reason, plan.Failover.Term));
        Assert.Equal([new RoleChange("a", Roles.Standby), new RoleChange("c", Roles.Active)], plan.RoleChanges);
        Assert.Equal(("a", "c", SwitchoverResults.Succeeded, 3), (plan.Status.LastSwitchover!.From, plan.Status.LastSwitchover.To, plan.Status.LastSwitchover.Result, plan.Status.LastSwitchover.Term));
        Assert.Null(plan.Status.LastFailover);
        Assert.Equal(3, plan.Status.FailoverCount);
        Assert.Equal("c", plan.HandledSwitchover);
        Assert.Contains(plan.Events, e => e.Reason == EventReasons.SwitchedOver);
    }

    [Fact]
    public void AnyPicksTheBestCandidateOnAnotherNode()
    {
        var plan = Decide(Roles.AnyCandidate, [Pod("a", Roles.Active), Pod("b", node: "n1"), Pod("c", readyAt: -1, node: "n2")]);
        Assert.Equal("c", plan.Lease.Holder);
        Assert.Equal(SwitchoverResults.Succeeded, plan.Status.LastSwitchover!.Result);
    }

    [Theory]
    [InlineData("zz", "pod \"zz\" is not a member of the group")]
    [InlineData("a", "pod a is already active")]
    [InlineData("x", "pod x is excluded from promotion (failover.dev/promotable=false)")]
    [InlineData("n", "pod n is not a healthy candidate (Ready is not True)")]
    public void ABadTargetIsRefusedSayingWhy(string target, string reason)
    {
        var plan = Decide(target, [Pod("a", Roles.Active), Pod("b"), Pod("x", promotable: false), Pod("n", ready: false)]);
        Assert.Equal(LeaseAction.None, plan.Lease);
        Assert.Empty(plan.RoleChanges);
        Assert.Equal((SwitchoverResults.Refused, target), (plan.Status.LastSwitchover!.Result, plan.HandledSwitchover));
        Assert.Contains(reason, plan.Status.LastSwitchover.Message);
        Assert.Equal(EventReasons.SwitchoverRefused, Assert.Single(plan.Events).Reason);
    }

    [Fact]
    public void APausedGroupRefuses()
    {
        var plan = Decide("b", spec: new HighAvailabilityGroupSpec { Selector = Selector, Paused = true });
        Assert.Contains("paused", plan.Status.LastSwitchover!.Message);
        Assert.Equal(LeaseAction.None, plan.Lease);
    }

    [Fact]
    public void AFailoverGoesFirst()
    {
        var plan = Decide("c", [Pod("a", Roles.Active, ready: false), Pod("b"), Pod("c", readyAt: -30)]);
        Assert.Equal((FailoverReasons.NotReady, "b"), (plan.Failover!.Reason, plan.Lease.Holder)); // the failover's own choice
        Assert.Equal(SwitchoverResults.Refused, plan.Status.LastSwitchover!.Result);
        Assert.Contains("the failover goes first", plan.Status.LastSwitchover.Message);
    }

    [Fact]
    public void InAgentModeTheOldActiveIsFencedFirstAndTheRequestStaysUntilThen()
    {
        var spec = new HighAvailabilityGroupSpec { Selector = Selector, Fencing = FencingModes.Agent };
        var start = Decide("c", spec: spec, lease: new LeaseState("a", T0, 2, SeenSince: T0));
        Assert.Equal((LeaseActionKind.Fence, "c", FailoverReasons.Switchover), (start.Lease.Kind, start.Lease.Fencing!.To, start.Lease.Fencing.Reason));
        Assert.True(start.SwitchoverUnderway);
        Assert.Null(start.HandledSwitchover);

        var fencing = new LeaseState("", T0, 2, null, start.Lease.Fencing, T0);
        var acked = Pod("a") with { DemotedTerm = 2 };
        var done = FailoverDecision.Decide(new GroupObservation(1, spec, start.Status, [acked, Pod("b"), Pod("c", readyAt: -30)], [], fencing, null, T0.AddSeconds(1),
            null, acked, "c"));
        Assert.Equal(("c", 3), (done.Lease.Holder, done.Failover!.Term));
        Assert.Equal((SwitchoverResults.Succeeded, "c"), (done.Status.LastSwitchover!.Result, done.HandledSwitchover));
    }

    [Theory]
    [InlineData("c")]
    [InlineData("any")]
    [InlineData(" c\n")]
    public void ARequestCarriedOutBeforeACrashIsAnsweredNotRepeated(string request)
    {
        // The Lease moved to c for this switchover (term 3); the operator died before the status and the removal.
        var committed = new FailoverRecord { From = "a", To = "c", Reason = FailoverReasons.Switchover, DetectedAt = T0.AddSeconds(-1).UtcDateTime, Term = 3 };
        var plan = Decide(request, [Pod("a"), Pod("b"), Pod("c", Roles.Active)], lease: new LeaseState("c", T0, 3, committed));
        Assert.Equal(LeaseAction.None, plan.Lease);
        Assert.Equal((SwitchoverResults.Succeeded, 3), (plan.Status.LastSwitchover!.Result, plan.Status.LastSwitchover.Term));
        Assert.Equal(request, plan.HandledSwitchover); // removed exactly as written

        var recorded = FailoverDecision.Decide(new GroupObservation(1, new HighAvailabilityGroupSpec { Selector = Selector }, plan.Status,
            [Pod("a"), Pod("b"), Pod("c", Roles.Active)], [], new LeaseState("c", T0, 3, committed), null, T0, SwitchoverRequest: request));
        Assert.Equal((LeaseAction.None, request), (recorded.Lease, recorded.HandledSwitchover));
        Assert.Empty(recorded.Events);
    }

    [Fact]
    public void AnyIsAnsweredSucceededInAgentModeWhoeverWasPromoted()
    {
        var spec = new HighAvailabilityGroupSpec { Selector = Selector, Fencing = FencingModes.Agent };
        var start = Decide("any", spec: spec, lease: new LeaseState("a", T0, 2, SeenSince: T0));
        var fencing = new LeaseState("", T0, 2, null, start.Lease.Fencing, T0);
        var acked = Pod("a") with { DemotedTerm = 2 };
        // The chosen target (b) is no longer Ready; c is promoted, and "any" was still honoured.
        var done = FailoverDecision.Decide(new GroupObservation(1, spec, start.Status, [acked, Pod("b", ready: false), Pod("c", readyAt: -30)], [], fencing, null,
            T0.AddSeconds(1), null, acked, "any"));
        Assert.Equal("c", done.Lease.Holder);
        Assert.Equal(SwitchoverResults.Succeeded, done.Status.LastSwitchover!.Result);
    }
}
