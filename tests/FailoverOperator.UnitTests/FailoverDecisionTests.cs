using FailoverOperator.Failover;
using k8s.Models;

namespace FailoverOperator.UnitTests;

public class FailoverDecisionTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private static PodState Ready(string name, int readyAt, string? role = Roles.Standby) =>
        new(name, role, Annotated: role is not null, "Running", Ready: true, T0.AddSeconds(readyAt), Terminating: false);

    private static PodState NotReady(string name, string? role = Roles.Standby) =>
        new(name, role, Annotated: role is not null, "Running", Ready: false, null, Terminating: false);

    private static LeaseState Lease(string? holder, double renewedSecondsAgo = 0) =>
        new(holder, T0.AddSeconds(-renewedSecondsAgo));

    private static GroupObservation Observe(
        IEnumerable<PodState> members,
        LeaseState? lease = null,
        HighAvailabilityGroupSpec? spec = null,
        HighAvailabilityGroupStatus? status = null,
        DateTimeOffset? unhealthySince = null,
        DateTimeOffset? now = null,
        IEnumerable<string>? formers = null) =>
        new(3, WithSelector(spec ?? new HighAvailabilityGroupSpec()), status, members.ToList(), (formers ?? []).ToList(),
            lease, unhealthySince, now ?? T0);

    // The observation's members are already selected; the decision only checks the selector is valid.
    private static HighAvailabilityGroupSpec WithSelector(HighAvailabilityGroupSpec spec)
    {
        spec.Selector ??= new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "db" } };
        return spec;
    }

    private static string? Condition(FailoverPlan plan, string type) =>
        plan.Status.Conditions!.Single(c => c.Type == type).Status;

    [Fact]
    public void FirstElectionPicksThePodReadyTheLongest()
    {
        var plan = FailoverDecision.Decide(Observe([Ready("b", 5), Ready("a", 10), Ready("c", 7)]));

        Assert.Equal((LeaseActionKind.Create, "b"), (plan.Lease.Kind, plan.Lease.Holder));
        Assert.Equal([new RoleChange("b", Roles.Active)], plan.RoleChanges);
        Assert.Equal("b", plan.Status.ActivePod);
        Assert.Equal(GroupPhase.Healthy, plan.Status.Phase);
        Assert.Equal(2, plan.Status.ReadyStandbys);
        Assert.Equal(0, plan.Status.FailoverCount);
        Assert.Equal("True", Condition(plan, "Available"));
        Assert.Equal("False", Condition(plan, "Degraded"));
        Assert.Contains(plan.Events, e => e.Reason == EventReasons.Promoted && e.Pod == "b");
    }

    [Fact]
    public void ElectionTiesAreBrokenByName()
    {
        var plan = FailoverDecision.Decide(Observe([Ready("z", 1), Ready("m", 1), Ready("q", 1)]));
        Assert.Equal("m", plan.Lease.Holder);
    }

    [Fact]
    public void ElectionAdoptsAReadyPodThatAlreadyCarriesActive()
    {
        var plan = FailoverDecision.Decide(Observe([Ready("a", 1), Ready("b", 9, Roles.Active), Ready("c", 2)]));

        Assert.Equal((LeaseActionKind.Create, "b"), (plan.Lease.Kind, plan.Lease.Holder));
        Assert.Empty(plan.RoleChanges); // b keeps its label: adoption flips nothing
        Assert.Contains("adopted", plan.Events.Single().Message);
    }

    [Fact]
    public void ElectionDoesNotAdoptAnUnreadyActiveAndDemotesIt()
    {
        var plan = FailoverDecision.Decide(Observe([Ready("a", 1), NotReady("b", Roles.Active)]));

        Assert.Equal("a", plan.Lease.Holder);
        Assert.Equal([new RoleChange("b", Roles.Standby), new RoleChange("a", Roles.Active)], plan.RoleChanges);
    }

    [Fact]
    public void ALeaseWithoutHolderIsElectedThroughTheExistingLease()
    {
        var plan = FailoverDecision.Decide(Observe([Ready("a", 1)], Lease("")));
        Assert.Equal((LeaseActionKind.Transfer, "a"), (plan.Lease.Kind, plan.Lease.Holder));
    }

    [Fact]
    public void NoMembersIsPendingWithAReason()
    {
        var plan = FailoverDecision.Decide(Observe([]));

        Assert.Equal(LeaseAction.None, plan.Lease);
        Assert.Equal(GroupPhase.Pending, plan.Status.Phase);
        Assert.Null(plan.Status.ActivePod);
        Assert.Equal("NoMembers", plan.Status.Conditions!.Single(c => c.Type == "Available").Reason);
        Assert.Empty(plan.RoleChanges);
    }

    [Fact]
    public void NoReadyMemberIsPendingAndNewMembersGetStandby()
    {
        var plan = FailoverDecision.Decide(Observe([NotReady("a", role: null), NotReady("b", role: null)]));

        Assert.Equal(LeaseAction.None, plan.Lease);
        Assert.Equal(GroupPhase.Pending, plan.Status.Phase);
        Assert.Equal([new RoleChange("a", Roles.Standby), new RoleChange("b", Roles.Standby)], plan.RoleChanges);
    }

    [Fact]
    public void AHealthyHolderCostsNoWriteInLabelMode()
    {
        // Nobody renews in Label mode: the Lease is the record and commit point only.
        var plan = FailoverDecision.Decide(Observe(
            [Ready("a", 1, Roles.Active), Ready("b", 0), Ready("c", 0)], Lease("a", renewedSecondsAgo: 3600)));

        Assert.Equal(LeaseAction.None, plan.Lease);
        Assert.Empty(plan.RoleChanges);
        Assert.Empty(plan.Events);
        Assert.Equal(GroupPhase.Healthy, plan.Status.Phase);
        Assert.Null(plan.RequeueAfter);
    }

    [Fact]
    public void ARecoveredExActiveStaysStandby()
    {
        // b took over from a earlier; a is Ready again and was Ready longer, but there is no fail-back.
        var plan = FailoverDecision.Decide(Observe([Ready("a", 0), Ready("b", 5, Roles.Active)], Lease("b")));

        Assert.Equal(LeaseAction.None, plan.Lease);
        Assert.Empty(plan.RoleChanges);
        Assert.Equal("b", plan.Status.ActivePod);
    }

    [Fact]
    public void ANewMemberGetsStandbyAndASecondActiveIsDemoted()
    {
        var plan = FailoverDecision.Decide(Observe(
            [Ready("a", 0, Roles.Active), Ready("b", 5, Roles.Active), Ready("c", 9, role: null)], Lease("a")));

        Assert.Equal([new RoleChange("b", Roles.Standby), new RoleChange("c", Roles.Standby)], plan.RoleChanges);
    }

    [Theory]
    [InlineData("Running", false, false, FailoverReasons.NotReady)]
    [InlineData("Running", true, true, FailoverReasons.Terminating)]
    [InlineData("Failed", false, false, FailoverReasons.PodFailed)]
    [InlineData("Succeeded", false, false, FailoverReasons.PodSucceeded)]
    [InlineData("Pending", false, false, FailoverReasons.NotRunning)]
    public void AnUnhealthyActiveIsReplacedByTheStandbyReadyTheLongest(string phase, bool ready, bool terminating, string reason)
    {
        var active = new PodState("a", Roles.Active, true, phase, ready, ready ? T0 : null, terminating);
        var plan = FailoverDecision.Decide(Observe(
            [active, Ready("b", 20), Ready("c", 10)], Lease("a") with { Transitions = 2 }, status: new HighAvailabilityGroupStatus { FailoverCount = 2 }));

        Assert.Equal(new LeaseAction(LeaseActionKind.Transfer, "c", plan.Failover), plan.Lease);
        Assert.Equal(3, plan.Failover!.Term);
        Assert.Equal([new RoleChange("a", Roles.Standby), new RoleChange("c", Roles.Active)], plan.RoleChanges);
        Assert.Equal("c", plan.Status.ActivePod);
        Assert.Equal(3, plan.Status.FailoverCount);
        Assert.Equal(1, plan.Status.ReadyStandbys);
        Assert.Equal(new[] { "a", "c", reason }, new[] { plan.Failover!.From, plan.Failover.To, plan.Failover.Reason });
        Assert.Equal(T0.UtcDateTime, plan.Failover.DetectedAt);
        Assert.Equal([EventReasons.FailoverStarted, EventReasons.Promoted], plan.Events.Select(e => e.Reason));
        Assert.Null(plan.ActiveUnhealthySince);
        Assert.Null(plan.Status.ActiveFailure);
    }

    [Fact]
    public void ADeletedActiveIsReplaced()
    {
        var plan = FailoverDecision.Decide(Observe([Ready("b", 1)], Lease("a")));

        Assert.Equal((LeaseActionKind.Transfer, "b"), (plan.Lease.Kind, plan.Lease.Holder));
        Assert.Equal(FailoverReasons.Deleted, plan.Failover!.Reason);
        Assert.Equal([new RoleChange("b", Roles.Active)], plan.RoleChanges);
    }

    [Fact]
    public void AnActiveThatStopsMatchingTheSelectorLosesItsRoleBeforeTheNewActiveIsLabelled()
    {
        var plan = FailoverDecision.Decide(Observe([Ready("b", 1)], Lease("a"), formers: ["a"]));

        Assert.Equal(FailoverReasons.NoLongerMember, plan.Failover!.Reason);
        Assert.Equal([new RoleChange("a", null), new RoleChange("b", Roles.Active)], plan.RoleChanges);
    }

    [Fact]
    public void WithoutAReadyStandbyTheFailedActiveKeepsItsRoleAndTheGroupIsDegraded()
    {
        var plan = FailoverDecision.Decide(Observe([NotReady("a", Roles.Active), NotReady("b")], Lease("a")));

        Assert.Equal(LeaseAction.None, plan.Lease);
        Assert.Empty(plan.RoleChanges);
        Assert.Equal(GroupPhase.Degraded, plan.Status.Phase);
        Assert.Equal("a", plan.Status.ActivePod);
        Assert.Equal("False", Condition(plan, "Available"));
        Assert.Equal("True", Condition(plan, "Degraded"));
        var warning = Assert.Single(plan.Events);
        Assert.Equal((EventTypes.Warning, EventReasons.NoStandbyAvailable), (warning.Type, warning.Reason));
        Assert.Contains("a keeps the active role", warning.Message);
        Assert.Equal(T0, plan.ActiveUnhealthySince);
        Assert.Equal(new ActiveFailure { Pod = "a", Reason = FailoverReasons.NotReady, Since = T0.UtcDateTime }, plan.Status.ActiveFailure);
    }

    [Fact]
    public void TheNoStandbyWarningIsNotRepeatedWhileStillDegraded()
    {
        var plan = FailoverDecision.Decide(Observe([NotReady("a", Roles.Active)], Lease("a"),
            status: new HighAvailabilityGroupStatus { Phase = GroupPhase.Degraded, ActivePod = "a" }, unhealthySince: T0.AddSeconds(-30)));

        Assert.Empty(plan.Events);
        Assert.Equal(T0.AddSeconds(-30), plan.ActiveUnhealthySince);
    }

    [Fact]
    public void AStandbyThatBecomesReadyWhileDegradedIsPromotedAtOnce()
    {
        var plan = FailoverDecision.Decide(Observe([NotReady("a", Roles.Active), Ready("b", 30)], Lease("a"),
            status: new HighAvailabilityGroupStatus { Phase = GroupPhase.Degraded, ActivePod = "a" }, unhealthySince: T0.AddSeconds(-30),
            now: T0.AddSeconds(31)));

        Assert.Equal((LeaseActionKind.Transfer, "b"), (plan.Lease.Kind, plan.Lease.Holder));
        Assert.Equal(T0.AddSeconds(-30).UtcDateTime, plan.Failover!.DetectedAt);
    }

    [Fact]
    public void FailoverWaitsForTheDelayAndAsksToBeWokenWhenItEnds()
    {
        var spec = new HighAvailabilityGroupSpec { FailoverDelaySeconds = 2 };
        var pods = new[] { NotReady("a", Roles.Active), Ready("b", 0) };

        var first = FailoverDecision.Decide(Observe(pods, Lease("a"), spec));
        Assert.Equal(LeaseAction.None, first.Lease);
        Assert.Empty(first.RoleChanges);
        Assert.Equal(GroupPhase.FailingOver, first.Status.Phase);
        Assert.Equal(TimeSpan.FromSeconds(2), first.RequeueAfter);
        Assert.Equal(T0, first.ActiveUnhealthySince);

        var oneSecondLater = FailoverDecision.Decide(Observe(pods, Lease("a"), spec, unhealthySince: T0, now: T0.AddSeconds(1)));
        Assert.Equal(LeaseAction.None, oneSecondLater.Lease);
        Assert.Equal(TimeSpan.FromSeconds(1), oneSecondLater.RequeueAfter);

        var afterDelay = FailoverDecision.Decide(Observe(pods, Lease("a"), spec, unhealthySince: T0, now: T0.AddSeconds(2)));
        Assert.Equal((LeaseActionKind.Transfer, "b"), (afterDelay.Lease.Kind, afterDelay.Lease.Holder));
    }

    [Fact]
    public void ARecoveryDuringTheDelayForgetsTheFailure()
    {
        var spec = new HighAvailabilityGroupSpec { FailoverDelaySeconds = 2 };
        var plan = FailoverDecision.Decide(Observe([Ready("a", 0, Roles.Active), Ready("b", 0)], Lease("a"), spec,
            unhealthySince: T0.AddSeconds(-1)));

        Assert.Equal(GroupPhase.Healthy, plan.Status.Phase);
        Assert.Null(plan.ActiveUnhealthySince);
        Assert.Equal(LeaseAction.None, plan.Lease);
    }

    [Fact]
    public void PausedGroupsDoNotFailOverButKeepLabelsAndStatus()
    {
        var spec = new HighAvailabilityGroupSpec { Paused = true };
        var plan = FailoverDecision.Decide(Observe([NotReady("a", Roles.Active), Ready("b", 0), Ready("c", 0, role: null)], Lease("a"), spec));

        Assert.Equal(LeaseAction.None, plan.Lease);
        Assert.Equal([new RoleChange("c", Roles.Standby)], plan.RoleChanges);
        Assert.Equal(GroupPhase.Paused, plan.Status.Phase);
        Assert.Equal("a", plan.Status.ActivePod);
        Assert.Contains("paused", plan.Status.Conditions!.Single(c => c.Type == "Available").Message);
    }

    [Fact]
    public void PausedGroupsAdoptAnExistingActiveButDoNotElectOne()
    {
        var spec = new HighAvailabilityGroupSpec { Paused = true };
        Assert.Equal(LeaseAction.None, FailoverDecision.Decide(Observe([Ready("a", 0)], spec: spec)).Lease);
        Assert.Equal(new LeaseAction(LeaseActionKind.Create, "b") { Term = 0 },
            FailoverDecision.Decide(Observe([Ready("a", 0), Ready("b", 3, Roles.Active)], spec: spec)).Lease);
    }

    [Fact]
    public void UnpausingWithAFailedActiveFailsOver()
    {
        var plan = FailoverDecision.Decide(Observe([NotReady("a", Roles.Active), Ready("b", 0)], Lease("a"),
            status: new HighAvailabilityGroupStatus { Phase = GroupPhase.Paused }, unhealthySince: T0.AddMinutes(-5)));
        Assert.Equal((LeaseActionKind.Transfer, "b"), (plan.Lease.Kind, plan.Lease.Holder));
    }

    [Fact]
    public void AConditionKeepsItsTransitionTimeWhileItsStatusIsUnchanged()
    {
        var earlier = T0.AddHours(-1).UtcDateTime;
        var status = new HighAvailabilityGroupStatus
        {
            Conditions = [new k8s.Models.V1Condition { Type = "Available", Status = "True", LastTransitionTime = earlier, Reason = "x", Message = "y" }],
        };
        var plan = FailoverDecision.Decide(Observe([Ready("a", 0, Roles.Active)], Lease("a"), status: status));

        Assert.Equal(earlier, plan.Status.Conditions!.Single(c => c.Type == "Available").LastTransitionTime);
        Assert.Equal(T0.UtcDateTime, plan.Status.Conditions!.Single(c => c.Type == "Degraded").LastTransitionTime);
        Assert.Equal(3, plan.Status.ObservedGeneration);
    }

    [Fact]
    public void RoleChangesNeverLeaveTwoActivesAtAnyStep()
    {
        // Break-before-make as a property: apply each plan's role changes one at a time to randomly
        // labelled pods and check that no prefix of the sequence leaves two pods active.
        var random = new Random(20261126);
        var names = new[] { "a", "b", "c", "d" };
        for (var i = 0; i < 5000; i++)
        {
            var pods = names.Take(random.Next(1, 5)).Select(n => new PodState(
                n,
                random.Next(3) switch { 0 => Roles.Active, 1 => Roles.Standby, _ => null },
                random.Next(2) == 0,
                random.Next(5) == 0 ? "Failed" : "Running",
                random.Next(3) != 0,
                T0.AddSeconds(random.Next(10)),
                random.Next(6) == 0)).ToList();
            var lease = random.Next(4) == 0 ? null : Lease(names[random.Next(names.Length)]);
            var plan = FailoverDecision.Decide(Observe(pods, lease,
                new HighAvailabilityGroupSpec { Paused = random.Next(4) == 0, FailoverDelaySeconds = random.Next(2) }));

            var roles = pods.ToDictionary(p => p.Name, p => p.Role);
            var activesBefore = roles.Values.Count(r => r == Roles.Active);
            foreach (var change in plan.RoleChanges)
            {
                roles[change.Pod] = change.Role;
                var actives = roles.Values.Count(r => r == Roles.Active);
                Assert.True(actives <= Math.Max(1, activesBefore), $"case {i}: {actives} actives after {change}");
                if (change.Role == Roles.Active) Assert.True(actives == 1, $"case {i}: promotion while another pod is active");
            }
            Assert.True(roles.Values.Count(r => r == Roles.Active) <= 1, $"case {i}: plan ends with more than one active");
            if (plan.Lease.Holder is { } holder && plan.Lease.Kind != LeaseActionKind.None)
            {
                Assert.Equal(Roles.Active, roles[holder]);
            }
        }
    }
}
