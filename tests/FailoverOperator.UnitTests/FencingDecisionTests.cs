using FailoverOperator.Failover;
using k8s.Models;

namespace FailoverOperator.UnitTests;

/// <summary>Agent mode: the wait between taking the Lease from the old active and promoting the new one.</summary>
public class FencingDecisionTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly V1LabelSelector Selector = new() { MatchLabels = new Dictionary<string, string> { ["app"] = "db" } };
    private static readonly HighAvailabilityGroupSpec AgentSpec = new() { Selector = Selector, Fencing = FencingModes.Agent, LeaseDurationSeconds = 15 };

    private static PodState Ready(string name, string role = Roles.Standby, int readyAt = -60) =>
        new(name, role, true, "Running", true, T0.AddSeconds(readyAt), false);

    private static PodState NotReady(string name, string role = Roles.Active, int? demotedTerm = null, bool stopped = false) =>
        new(name, role, true, "Running", false, null, false, demotedTerm, stopped);

    private static readonly FencingRecord FencingA = new()
    {
        From = "a", Term = 4, Reason = FailoverReasons.NotReady, DetectedAt = T0.AddSeconds(-6).UtcDateTime, Since = T0.AddSeconds(-5).UtcDateTime,
    };

    private static GroupObservation Observe(IReadOnlyList<PodState> members, LeaseState lease, PodState? fenced = null, HighAvailabilityGroupSpec? spec = null) =>
        new(1, spec ?? AgentSpec, null, members, [], lease, null, T0, null, fenced);

    private static LeaseState Fencing(double seenSecondsAgo = 5) => new("", T0.AddSeconds(-5), 4, null, FencingA, T0.AddSeconds(-seenSecondsAgo));

    [Fact]
    public void AFailedActiveLosesItsLeaseButNobodyIsPromotedYet()
    {
        var plan = FailoverDecision.Decide(Observe([NotReady("a"), Ready("b")], new LeaseState("a", T0, 4, SeenSince: T0.AddSeconds(-1))));

        Assert.Equal(LeaseActionKind.Fence, plan.Lease.Kind);
        Assert.Equal(("a", 4, FailoverReasons.NotReady), (plan.Lease.Fencing!.From, plan.Lease.Fencing.Term, plan.Lease.Fencing.Reason));
        // The pod chosen now is named in write 1, so the old active's agent can hand the Lease to it once it has stopped.
        Assert.Equal("b", plan.Lease.Fencing.To);
        Assert.Equal([new RoleChange("a", Roles.Standby)], plan.RoleChanges);
        Assert.Null(plan.Status.ActivePod);
        Assert.Equal(GroupPhase.FencingOldActive, plan.Status.Phase);
        // Its status is left to the next reconcile, due shortly: an acknowledgement that comes first is not held up by it.
        Assert.Equal((FailoverDecision.FencingStatusDeferral, FailoverDecision.FencingStatusDeferral), (plan.StatusDeferredFor, plan.RequeueAfter));
        Assert.Equal(EventReasons.FencingStarted, Assert.Single(plan.Events).Reason);
        Assert.Null(plan.Failover);
    }

    [Fact]
    public void WithoutProofTheWaitGoesOnUntilTheLeaseExpires()
    {
        var plan = FailoverDecision.Decide(Observe([NotReady("a", Roles.Standby), Ready("b")], Fencing(seenSecondsAgo: 5), fenced: NotReady("a", Roles.Standby)));

        Assert.Equal(LeaseAction.None, plan.Lease);
        Assert.DoesNotContain(plan.RoleChanges, c => c.Role == Roles.Active);
        Assert.Equal(GroupPhase.FencingOldActive, plan.Status.Phase);
        Assert.Equal(TimeSpan.FromSeconds(10), plan.RequeueAfter);
        Assert.Contains("waiting for proof that a stopped acting in term 4", plan.Status.Conditions!.Single(c => c.Type == ConditionTypes.Available).Message);
    }

    [Fact]
    public void AWaitThatJustBeganLeavesItsStatusUntilItHasLastedTheDeferral()
    {
        var fenced = NotReady("a", Roles.Standby);
        var early = FailoverDecision.Decide(Observe([fenced, Ready("b")], Fencing(seenSecondsAgo: 0.1), fenced));
        Assert.Equal((LeaseAction.None, GroupPhase.FencingOldActive), (early.Lease, early.Status.Phase));
        var rest = FailoverDecision.FencingStatusDeferral - TimeSpan.FromSeconds(0.1);
        Assert.Equal((rest, rest), (early.StatusDeferredFor, early.RequeueAfter));

        var later = FailoverDecision.Decide(Observe([fenced, Ready("b")], Fencing(seenSecondsAgo: 0.3), fenced));
        Assert.Null(later.StatusDeferredFor);
    }

    [Fact]
    public void WriteOneNamesTheBestCandidateNotOnTheFailedActivesNode()
    {
        var a = NotReady("a") with { Node = "n1" };
        var plan = FailoverDecision.Decide(Observe([a, Ready("b", readyAt: -90) with { Node = "n1" }, Ready("c") with { Node = "n2" }],
            new LeaseState("a", T0, 4, SeenSince: T0.AddSeconds(-1))));

        Assert.Equal((LeaseActionKind.Fence, "c"), (plan.Lease.Kind, plan.Lease.Fencing!.To));
    }

    [Fact]
    public void ALeaseTheOldActivesAgentHandedOverIsRecordedAndItsHolderOnlyLabelled()
    {
        // What the demoted agent wrote over write 1: the chosen pod in the next term, the failover record with its proof.
        var handedOver = new FailoverRecord
        {
            From = "a", To = "b", Reason = FailoverReasons.NotReady, DetectedAt = FencingA.DetectedAt, Term = 5, Proof = FencingProofs.HandedOver,
        };
        var status = new HighAvailabilityGroupStatus { ActivePod = "a", FailoverCount = 4, Phase = GroupPhase.Healthy };
        var o = Observe([NotReady("a", Roles.Standby), Ready("b")], new LeaseState("b", T0, 5, handedOver, SeenSince: T0)) with { Status = status };

        var plan = FailoverDecision.Decide(o);

        Assert.Equal(LeaseAction.None, plan.Lease);   // the Lease is already the failover: nothing to write to it
        Assert.Equal([new RoleChange("b", Roles.Active)], plan.RoleChanges);
        Assert.Equal(("b", GroupPhase.Healthy, 5), (plan.Status.ActivePod, plan.Status.Phase, plan.Status.FailoverCount));
        Assert.Equal(handedOver, plan.Failover);
        Assert.Equal(FencingProofs.HandedOver, plan.Status.LastFailover!.Proof);
        var fenced = plan.Events.Single(e => e.Reason == EventReasons.Fenced);
        Assert.Equal(("pod a stopped acting in term 4: its agent acknowledged giving up term 4 and handed the Lease to b", 5),
            (fenced.Message, fenced.Term));
        Assert.Contains(plan.Events, e => e.Reason == EventReasons.Promoted && e.Pod == "b");

        // Once recorded, nothing more: the next reconcile writes nothing and says nothing again.
        var recorded = o with { Status = plan.Status, Members = [NotReady("a", Roles.Standby), Ready("b", Roles.Active)] };
        var after = FailoverDecision.Decide(recorded);
        Assert.Equal((LeaseAction.None, 0, 0), (after.Lease, after.RoleChanges.Count, after.Events.Count));
        Assert.Null(after.Failover);
    }

    [Theory]
    [InlineData(4, false, 5, "its agent acknowledged giving up term 4", FencingProofs.Acknowledged)]
    [InlineData(null, true, 5, "its containers have terminated", FencingProofs.ContainersTerminated)]
    [InlineData(3, false, 15, "its lease expired", FencingProofs.LeaseExpired)]
    public void EachProofPromotesTheCandidateInTheNextTerm(int? demotedTerm, bool stopped, double seenSecondsAgo, string proof, string kind)
    {
        var fenced = NotReady("a", Roles.Standby, demotedTerm, stopped);
        var plan = FailoverDecision.Decide(Observe([fenced, Ready("b")], Fencing(seenSecondsAgo), fenced));

        Assert.Equal((LeaseActionKind.Transfer, "b"), (plan.Lease.Kind, plan.Lease.Holder));
        Assert.Equal(("a", "b", FailoverReasons.NotReady, 5), (plan.Failover!.From, plan.Failover.To, plan.Failover.Reason, plan.Failover.Term));
        Assert.Equal(FencingA.DetectedAt, plan.Failover.DetectedAt);
        Assert.Equal(5, plan.Status.FailoverCount);
        Assert.Equal([new RoleChange("b", Roles.Active)], plan.RoleChanges);
        Assert.Contains(proof, plan.Events.Single(e => e.Reason == EventReasons.Fenced).Message);
        Assert.Equal(kind, plan.Failover.Proof);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(5)] // from another incarnation of the Lease, say: only the fenced term counts
    public void AnAcknowledgementOfAnotherTermIsNoProof(int term)
    {
        var fenced = NotReady("a", Roles.Standby, demotedTerm: term);
        Assert.Equal(LeaseAction.None, FailoverDecision.Decide(Observe([fenced, Ready("b")], Fencing(), fenced)).Lease);
    }

    [Fact]
    public void ADeletedPodIsNoProofOnlyTheExpiryIs()
    {
        // A force-deleted pod may still run on a cut-off node.
        Assert.Equal(LeaseAction.None, FailoverDecision.Decide(Observe([Ready("b")], Fencing(seenSecondsAgo: 14.9))).Lease);
        Assert.Equal("b", FailoverDecision.Decide(Observe([Ready("b")], Fencing(seenSecondsAgo: 15))).Lease.Holder);
    }

    [Fact]
    public void TheExpiryCountsFromTheFencedHoldersLastRenewalThisOperatorSaw()
    {
        // Write 1 seen 5 s ago; a's last renewal in term 4 seen 15 s ago: no later renewal can have
        // succeeded (write 1 would have been refused), so a's own deadline has passed.
        var fenced = NotReady("a", Roles.Standby);
        var lease = Fencing(seenSecondsAgo: 5) with { LastRenewal = new HolderRenewal("a", 4, T0.AddSeconds(-15)) };
        var plan = FailoverDecision.Decide(Observe([fenced, Ready("b")], lease, fenced));
        Assert.Equal("b", plan.Lease.Holder);
        Assert.Contains("its lease expired at 2026-01-01T12:00:00", plan.Events.Single(e => e.Reason == EventReasons.Fenced).Message);

        var waiting = FailoverDecision.Decide(Observe([fenced, Ready("b")], lease with { LastRenewal = new HolderRenewal("a", 4, T0.AddSeconds(-10)) }, fenced));
        Assert.Equal((LeaseAction.None, TimeSpan.FromSeconds(5)), (waiting.Lease, waiting.RequeueAfter));
    }

    [Theory]
    [InlineData("b", 4)]   // another holder's renewal
    [InlineData("a", 3)]   // a's renewal in an earlier term
    public void ARenewalOfAnotherHolderOrTermDoesNotShortenTheWait(string holder, int term)
    {
        var fenced = NotReady("a", Roles.Standby);
        var lease = Fencing(seenSecondsAgo: 5) with { LastRenewal = new HolderRenewal(holder, term, T0.AddSeconds(-60)) };
        var plan = FailoverDecision.Decide(Observe([fenced, Ready("b")], lease, fenced));
        Assert.Equal((LeaseAction.None, TimeSpan.FromSeconds(10)), (plan.Lease, plan.RequeueAfter));
    }

    [Fact]
    public void AFencedPodThatRecoveredIsPromotedOnlyWhenNoOtherCandidateIs()
    {
        var recovered = Ready("a") with { DemotedTerm = 4 };
        Assert.Equal("b", FailoverDecision.Decide(Observe([recovered, Ready("b", readyAt: -1)], Fencing(), recovered)).Lease.Holder);
        Assert.Equal("a", FailoverDecision.Decide(Observe([recovered], Fencing(), recovered)).Lease.Holder);
    }

    [Fact]
    public void AnActiveWhoseAgentStoppedRenewingIsAFailure()
    {
        var stale = FailoverDecision.Decide(Observe([Ready("a", Roles.Active), Ready("b")], new LeaseState("a", T0.AddSeconds(-15), 4, SeenSince: T0.AddSeconds(-15))));
        Assert.Equal(LeaseActionKind.Fence, stale.Lease.Kind);
        Assert.Equal(FailoverReasons.LeaseExpired, stale.Lease.Fencing!.Reason);

        var fresh = FailoverDecision.Decide(Observe([Ready("a", Roles.Active), Ready("b")], new LeaseState("a", T0.AddSeconds(-4), 4, SeenSince: T0.AddSeconds(-4))));
        Assert.Equal(LeaseAction.None, fresh.Lease);
        Assert.Equal(TimeSpan.FromSeconds(11), fresh.RequeueAfter);
    }

    [Fact]
    public void LabelModeMovesAtOnceAndNeverLooksAtRenewals()
    {
        var spec = new HighAvailabilityGroupSpec { Selector = Selector };
        var failed = FailoverDecision.Decide(Observe([NotReady("a"), Ready("b")], new LeaseState("a", T0, 4), spec: spec));
        Assert.Equal((LeaseActionKind.Transfer, "b", 5), (failed.Lease.Kind, failed.Lease.Holder, failed.Lease.Failover!.Term));

        var old = FailoverDecision.Decide(Observe([Ready("a", Roles.Active), Ready("b")], new LeaseState("a", T0.AddHours(-1), 4, SeenSince: T0.AddHours(-1)), spec: spec));
        Assert.Equal(LeaseAction.None, old.Lease);
        Assert.Null(old.RequeueAfter);
    }

    [Fact]
    public void AFencingRecordAnAgentWroteOnAGracefulStopHasNoDetectionOfOursAndStillCompletes()
    {
        // What the agent writes when it releases the Lease on SIGTERM: from, term, reason, since; no detectedAt.
        var released = new FencingRecord { From = "a", Term = 4, Reason = "Stopped", Since = T0.AddSeconds(-2).UtcDateTime };
        var plan = FailoverDecision.Decide(Observe([Ready("b")], new LeaseState("", T0.AddSeconds(-2), 4, null, released, T0.AddSeconds(-2)),
            fenced: NotReady("a", demotedTerm: 4)));

        Assert.Equal(("b", 5), (plan.Lease.Holder, plan.Failover!.Term));
        Assert.Equal(T0.AddSeconds(-2).UtcDateTime, plan.Failover.DetectedAt);
    }
}

/// <summary>The review's fencing findings: durations, identities, records that are gone, terms that must not go back.</summary>
public class FencingEdgeTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly V1LabelSelector Selector = new() { MatchLabels = new Dictionary<string, string> { ["app"] = "db" } };

    private static HighAvailabilityGroupSpec Agent(int leaseSeconds = 5) => new() { Selector = Selector, Fencing = FencingModes.Agent, LeaseDurationSeconds = leaseSeconds };

    private static PodState Ready(string name, string role = Roles.Standby, string? uid = null) =>
        new(name, role, true, "Running", true, T0.AddSeconds(-60), false, Uid: uid);

    [Fact]
    public void AShortenedSpecDoesNotShortenTheWaitBeforeTheAgentRenewedUnderIt()
    {
        // The Lease still says 300 s: the agent's deadline counts from that.
        var lease = new LeaseState("a", T0, 2, SeenSince: T0.AddSeconds(-10), DurationSeconds: 300);
        var plan = FailoverDecision.Decide(new GroupObservation(1, Agent(5), null, [Ready("a", Roles.Active), Ready("b")], [], lease, null, T0));
        Assert.Equal(LeaseAction.None, plan.Lease);

        var failed = FailoverDecision.Decide(new GroupObservation(1, Agent(5), null,
            [new PodState("a", Roles.Active, true, "Running", false, null, false, Uid: "u1"), Ready("b")], [], lease, null, T0));
        Assert.Equal(300, failed.Lease.Fencing!.DurationSeconds);
        Assert.Equal("u1", failed.Lease.Fencing.Uid);

        var waiting = FailoverDecision.Decide(new GroupObservation(1, Agent(5), null, [Ready("b")], [],
            new LeaseState("", T0, 2, null, failed.Lease.Fencing, T0.AddSeconds(-10), 300), null, T0));
        Assert.Equal(LeaseAction.None, waiting.Lease);
        Assert.Equal(TimeSpan.FromSeconds(290), waiting.RequeueAfter);
    }

    [Fact]
    public void AnEmptyHolderWithoutARecordIsWaitedOutInAgentMode()
    {
        var lease = new LeaseState("", T0, 4, SeenSince: T0.AddSeconds(-1), DurationSeconds: 5);
        var plan = FailoverDecision.Decide(new GroupObservation(1, Agent(), null, [Ready("b")], [], lease, null, T0));
        Assert.Equal(LeaseAction.None, plan.Lease);
        Assert.Equal(GroupPhase.FencingOldActive, plan.Status.Phase);

        var later = FailoverDecision.Decide(new GroupObservation(1, Agent(), null, [Ready("b")], [], lease with { SeenSince = T0.AddSeconds(-5) }, null, T0));
        Assert.Equal(("b", 5), (later.Lease.Holder, later.Failover!.Term));
    }

    [Fact]
    public void ALeaseDeletedWhileAPodWasActiveIsRecreatedFencingIt()
    {
        var status = new HighAvailabilityGroupStatus { ActivePod = "a", FailoverCount = 6 };
        var plan = FailoverDecision.Decide(new GroupObservation(1, Agent(), status, [Ready("a", Roles.Active), Ready("b")], [], null, null, T0));
        Assert.Equal((LeaseActionKind.Fence, "a", 6), (plan.Lease.Kind, plan.Lease.Fencing!.From, plan.Lease.Fencing.Term));
    }

    [Fact]
    public void ANewLeaseNeverStartsBelowARecordedTerm()
    {
        var status = new HighAvailabilityGroupStatus { FailoverCount = 3, LastFailover = new FailoverRecord { Term = 3 } };
        var plan = FailoverDecision.Decide(new GroupObservation(1, new HighAvailabilityGroupSpec { Selector = Selector }, status, [Ready("b")], [], null, null, T0));
        Assert.Equal((LeaseActionKind.Create, 3), (plan.Lease.Kind, plan.Lease.Term));
    }

}
