using FailoverOperator.Failover;
using k8s.Models;

namespace FailoverOperator.UnitTests;

/// <summary>Node drains (spec.protectActive, spec.drainTimeoutSeconds, status.activeDrain): the pure rules.</summary>
public class DrainDecisionTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly V1LabelSelector Selector = new() { MatchLabels = new Dictionary<string, string> { ["app"] = "db" } };

    private static HighAvailabilityGroupSpec Spec(bool protect = true, int timeout = 120, bool paused = false, string fencing = FencingModes.Label) =>
        new() { Selector = Selector, ProtectActive = protect, DrainTimeoutSeconds = timeout, Paused = paused, Fencing = fencing };

    private static PodState Pod(string name, string node, string? drain = null, string role = Roles.Standby, bool ready = true, int readyAt = 0,
        bool promotable = true, int priority = 0) =>
        new(name, role, true, "Running", ready, ready ? T0.AddSeconds(readyAt - 600) : null, false, Node: node, NodeDrain: drain,
            Promotable: promotable, Priority: priority);

    private static PodState Active(string? drain = "cordoned", bool ready = true) => Pod("a", "n1", drain, Roles.Active, ready);

    private static FailoverPlan Decide(HighAvailabilityGroupSpec spec, IEnumerable<PodState> members, HighAvailabilityGroupStatus? status = null,
        DateTimeOffset? now = null, string? request = null, LeaseState? lease = null) =>
        FailoverDecision.Decide(new GroupObservation(1, spec, status, members.ToList(), [], lease ?? new LeaseState("a", T0, Transitions: 4), null,
            now ?? T0, SwitchoverRequest: request, Name: "db"));

    private static HighAvailabilityGroupStatus Recorded(int secondsAgo, string pod = "a", string node = "n1", DateTime? lifted = null) => new()
    {
        ActivePod = pod,
        ActiveDrain = new ActiveDrain { Pod = pod, Node = node, Reason = "cordoned", Since = T0.AddSeconds(-secondsAgo).UtcDateTime, ProtectionLiftedAt = lifted },
    };

    [Fact]
    public void AHealthyActiveOnACordonedNodeMovesToACandidateOnASchedulableNodeAsAPlannedNodeDrain()
    {
        var plan = Decide(Spec(), [Active(), Pod("b", "n2")]);
        Assert.Equal((LeaseActionKind.Transfer, "b"), (plan.Lease.Kind, plan.Lease.Holder));
        Assert.Equal((FailoverReasons.NodeDrain, "a", "b", 5), (plan.Failover!.Reason, plan.Failover.From, plan.Failover.To, plan.Failover.Term));
        Assert.Equal(T0.UtcDateTime, plan.Failover.DetectedAt);
        // Recorded once per term, like any failover's Events (written before the status, named after the term).
        Assert.Equal([(EventReasons.NodeDrain, 5), (EventReasons.Promoted, 5)],
            plan.Events.Where(e => e.Reason is EventReasons.NodeDrain or EventReasons.Promoted).Select(e => (e.Reason, e.Term ?? -1)));
        Assert.Equal("b", plan.Status.ActivePod);
        Assert.Equal(FailoverReasons.NodeDrain, plan.Status.LastFailover!.Reason);
        Assert.Null(plan.Status.LastSwitchover);
        Assert.Null(plan.Status.ActiveDrain);
        Assert.Equal(Protection.Ensure, plan.Protection);
        Assert.Equal([EventReasons.NodeDrain, EventReasons.Promoted], plan.Events.Select(e => e.Reason));
        Assert.All(plan.Events, e => Assert.Equal(EventTypes.Normal, e.Type));
        // Break before make: the old active is demoted before the new one is promoted.
        Assert.Equal([new RoleChange("a", Roles.Standby), new RoleChange("b", Roles.Active)], plan.RoleChanges);
    }

    [Fact]
    public void ADrainRecordedEarlierIsTheMovesDetectionTime()
    {
        var plan = Decide(Spec(), [Active(), Pod("b", "n2")], Recorded(30));
        Assert.Equal(T0.AddSeconds(-30).UtcDateTime, plan.Failover!.DetectedAt);
    }

    [Fact]
    public void ANoExecuteTaintIsADrainToo()
    {
        var plan = Decide(Spec(), [Active("taint node.kubernetes.io/unreachable:NoExecute"), Pod("b", "n2")]);
        Assert.Equal("b", plan.Lease.Holder);
    }

    [Fact]
    public void TheCandidateIsNeverOnTheDrainedNodeNorOnAnotherNodeBeingDrainedNorExcluded()
    {
        var plan = Decide(Spec(), [Active(), Pod("same", "n1", "cordoned", priority: 9), Pod("other-drain", "n3", "cordoned", priority: 9),
            Pod("excluded", "n4", promotable: false, priority: 9), Pod("low", "n2", priority: -1)]);
        Assert.Equal("low", plan.Lease.Holder);

        var stuck = Decide(Spec(), [Active(), Pod("same", "n1", "cordoned"), Pod("other-drain", "n3", "cordoned"), Pod("excluded", "n4", promotable: false)]);
        Assert.Equal(LeaseAction.None, stuck.Lease);
        Assert.Equal("a", stuck.Status.ActivePod);
    }

    [Fact]
    public void TheCandidateOrderAmongSchedulableNodesIsTheUsualOne()
    {
        var plan = Decide(Spec(), [Active(), Pod("early", "n2", readyAt: 0), Pod("late", "n3", readyAt: 9, priority: 1)]);
        Assert.Equal("late", plan.Lease.Holder);
        Assert.Equal("early", Decide(Spec(), [Active(), Pod("early", "n2", readyAt: 0), Pod("late", "n3", readyAt: 9)]).Lease.Holder);
    }

    [Fact]
    public void WithoutACandidateTheDrainIsRecordedOnceAndTheBudgetHoldsItUntilTheTimeout()
    {
        var plan = Decide(Spec(timeout: 90), [Active(), Pod("b", "n1", "cordoned")]);
        Assert.Equal(LeaseAction.None, plan.Lease);
        Assert.Equal(Protection.Ensure, plan.Protection);
        var drain = plan.Status.ActiveDrain!;
        Assert.Equal(("a", "n1", "cordoned", T0.UtcDateTime, (DateTime?)null), (drain.Pod, drain.Node, drain.Reason, drain.Since, drain.ProtectionLiftedAt));
        Assert.Contains("no promotable standby is Ready on a schedulable node", drain.Message);
        Assert.Contains("PodDisruptionBudget db-active holds the drain until 2026-01-01T12:01:30", drain.Message);
        Assert.Equal(TimeSpan.FromSeconds(90), plan.RequeueAfter);
        var blocked = Assert.Single(plan.Events);
        Assert.Equal((EventTypes.Warning, EventReasons.NodeDrainBlocked, "a"), (blocked.Type, blocked.Reason, blocked.Pod));

        // The next look (any leader: the start is in the status) keeps the start and says nothing new.
        var later = Decide(Spec(timeout: 90), [Active(), Pod("b", "n1", "cordoned")], plan.Status, T0.AddSeconds(60));
        Assert.Equal(T0.UtcDateTime, later.Status.ActiveDrain!.Since);
        Assert.Equal(Protection.Ensure, later.Protection);
        Assert.Equal(TimeSpan.FromSeconds(30), later.RequeueAfter);
        Assert.Empty(later.Events);
    }

    [Fact]
    public void AtTheTimeoutTheBudgetIsLiftedWithAWarningOnceAndStaysLiftedWhileTheDrainLasts()
    {
        var members = new[] { Active(), Pod("b", "n1", "cordoned") };
        var plan = Decide(Spec(timeout: 90), members, Recorded(90));
        Assert.Equal(Protection.Remove, plan.Protection);
        Assert.Equal(T0.UtcDateTime, plan.Status.ActiveDrain!.ProtectionLiftedAt);
        Assert.Equal(T0.AddSeconds(-90).UtcDateTime, plan.Status.ActiveDrain.Since);
        var lifted = Assert.Single(plan.Events);
        Assert.Equal((EventTypes.Warning, EventReasons.ProtectionLifted), (lifted.Type, lifted.Reason));
        Assert.Contains("was lifted at 2026-01-01T12:00:00", lifted.Message);
        Assert.Null(plan.RequeueAfter);

        var again = Decide(Spec(timeout: 90), members, plan.Status, T0.AddSeconds(5));
        Assert.Equal(Protection.Remove, again.Protection);
        Assert.Equal(T0.UtcDateTime, again.Status.ActiveDrain!.ProtectionLiftedAt);
        Assert.Empty(again.Events);

        // A shorter look before the timeout keeps it.
        Assert.Equal(Protection.Ensure, Decide(Spec(timeout: 90), members, Recorded(89)).Protection);
    }

    [Fact]
    public void TheDrainEndingOrTheActiveMovingClearsTheRecordAndBringsTheBudgetBack()
    {
        var lifted = Recorded(200, lifted: T0.AddSeconds(-80).UtcDateTime);
        var uncordoned = Decide(Spec(), [Active(drain: null), Pod("b", "n1")], lifted);
        Assert.Null(uncordoned.Status.ActiveDrain);
        Assert.Equal(Protection.Ensure, uncordoned.Protection);

        // Another active on a drained node starts its own wait: the record of another pod does not count.
        var other = Decide(Spec(), [Pod("c", "n1", "cordoned", Roles.Active)], Recorded(200, pod: "a"), lease: new LeaseState("c", T0, Transitions: 5));
        Assert.Equal((T0.UtcDateTime, (DateTime?)null), (other.Status.ActiveDrain!.Since, other.Status.ActiveDrain.ProtectionLiftedAt));
        Assert.Equal(Protection.Ensure, other.Protection);
        Assert.Contains(other.Events, e => e.Reason == EventReasons.NodeDrainBlocked);
    }

    [Fact]
    public void APausedGroupDoesNotMoveItsActiveAndSaysWhy()
    {
        var plan = Decide(Spec(paused: true), [Active(), Pod("b", "n2")]);
        Assert.Equal(LeaseAction.None, plan.Lease);
        Assert.Contains("the group is paused (spec.paused), so the active is not moved", plan.Status.ActiveDrain!.Message);
        Assert.Contains(plan.Events, e => e.Reason == EventReasons.NodeDrainBlocked);
    }

    [Fact]
    public void WithoutProtectActiveThereIsNoBudgetAndTheMessageSaysTheDrainEvicts()
    {
        var plan = Decide(Spec(protect: false), [Active(), Pod("b", "n1", "cordoned")], Recorded(500));
        Assert.Equal(Protection.Remove, plan.Protection);
        Assert.Null(plan.Status.ActiveDrain!.ProtectionLiftedAt);
        Assert.Contains("the drain evicts it and a failover follows (spec.protectActive is false)", plan.Status.ActiveDrain.Message);
        Assert.Empty(plan.Events);
        Assert.Null(plan.RequeueAfter);
        Assert.Equal(Protection.Remove, Decide(Spec(protect: false), [Active(drain: null), Pod("b", "n2")]).Protection);
        // Without a drain the move does not happen either way; the budget is the only difference.
        Assert.Equal("b", Decide(Spec(protect: false), [Active(), Pod("b", "n2")]).Lease.Holder);
    }

    [Fact]
    public void AnUnhealthyActiveOnADrainedNodeIsLeftToTheFailoverRulesButItsDrainIsStillBounded()
    {
        var plan = Decide(Spec(timeout: 10), [Active(ready: false), Pod("b", "n1", "cordoned", ready: false)], Recorded(10));
        Assert.Equal(GroupPhase.Degraded, plan.Status.Phase);
        Assert.Contains("the active is not healthy (phase Degraded)", plan.Status.ActiveDrain!.Message);
        Assert.Equal(Protection.Remove, plan.Protection);
        // With a candidate, the failover moves it (reason NotReady, not NodeDrain).
        var failover = Decide(Spec(), [Active(ready: false), Pod("b", "n2")]);
        Assert.Equal((FailoverReasons.NotReady, "b"), (failover.Failover!.Reason, failover.Lease.Holder));
        Assert.Null(failover.Status.ActiveDrain);
    }

    [Fact]
    public void InAgentModeTheMoveFencesTheOldActiveFirstAsPlanned()
    {
        var plan = Decide(Spec(fencing: FencingModes.Agent), [Active(), Pod("b", "n2")]);
        Assert.Equal(LeaseActionKind.Fence, plan.Lease.Kind);
        Assert.Equal((FailoverReasons.NodeDrain, "a", "b"), (plan.Lease.Fencing!.Reason, plan.Lease.Fencing.From, plan.Lease.Fencing.To));
        var started = Assert.Single(plan.Events);
        Assert.Equal((EventTypes.Normal, EventReasons.FencingStarted), (started.Type, started.Reason));
        Assert.Null(plan.Status.ActiveDrain);
    }

    [Fact]
    public void ARequestedSwitchoverGoesBeforeTheDrainMove()
    {
        var plan = Decide(Spec(), [Active(), Pod("b", "n2"), Pod("c", "n3")], request: "c");
        Assert.Equal((FailoverReasons.Switchover, "c"), (plan.Failover!.Reason, plan.Lease.Holder));
    }

    [Fact]
    public void AnInvalidSpecLeavesTheBudgetAlone()
    {
        var plan = Decide(Spec(timeout: 0), [Active(), Pod("b", "n2")]);
        Assert.Equal(GroupPhase.Invalid, plan.Status.Phase);
        Assert.Equal(Protection.Unchanged, plan.Protection);
        Assert.Contains("spec.drainTimeoutSeconds: 0 is not from 1 to 86400", plan.Status.Conditions!.Single(c => c.Type == ConditionTypes.InvalidSpec).Message);
        // The drain recorded before keeps its start while the spec is being fixed.
        var recorded = Recorded(30);
        Assert.Equal(recorded.ActiveDrain, Decide(Spec(timeout: 0), [Active(), Pod("b", "n1", "cordoned")], recorded).Status.ActiveDrain);
    }

    [Fact]
    public void AMoveRecordedOnlyInTheLeaseIsRecordedWithItsNodeDrainEvents()
    {
        var record = new FailoverRecord { From = "a", To = "b", Reason = FailoverReasons.NodeDrain, DetectedAt = T0.UtcDateTime, Term = 5 };
        var plan = Decide(Spec(), [Pod("a", "n1", "cordoned"), Pod("b", "n2", role: Roles.Active)], new HighAvailabilityGroupStatus { ActivePod = "b" },
            lease: new LeaseState("b", T0, Transitions: 5, Failover: record));
        Assert.Equal(FailoverReasons.NodeDrain, plan.Status.LastFailover!.Reason);
        Assert.Equal([EventReasons.NodeDrain, EventReasons.Promoted], plan.Events.Select(e => e.Reason));
    }
}
