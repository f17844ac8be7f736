using FailoverOperator.Failover;
using k8s.Models;

namespace FailoverOperator.UnitTests;

/// <summary>Which standby is promoted: exclusion, the failed active's node, priority, Ready the longest, name.</summary>
public class CandidateOrderTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly HighAvailabilityGroupSpec Spec = new() { Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = "db" } } };

    private static PodState Standby(string name, int readyAt = 0, int priority = 0, bool promotable = true, string node = "n2", string? problem = null) =>
        new(name, Roles.Standby, true, "Running", true, T0.AddSeconds(readyAt), false, Priority: priority, Promotable: promotable, Node: node, AnnotationProblem: problem);

    private static readonly PodState FailedActive = new("a", Roles.Active, true, "Running", false, null, false, Node: "n1");

    private static FailoverPlan Decide(params PodState[] standbys) =>
        FailoverDecision.Decide(new GroupObservation(1, Spec, null, [FailoverActive(), .. standbys], [], new LeaseState("a", T0), null, T0));

    private static PodState FailoverActive() => FailedActive;

    [Fact]
    public void HigherPriorityWinsOverReadyTheLongest() =>
        Assert.Equal("late", Decide(Standby("early", readyAt: 0), Standby("late", readyAt: 9, priority: 5)).Lease.Holder);

    [Fact]
    public void ANegativePriorityIsLastButStillACandidate() =>
        Assert.Equal("low", Decide(Standby("low", priority: -1)).Lease.Holder);

    [Fact]
    public void AStandbyOnTheFailedActivesNodeIsChosenLastEvenWithAHigherPriority()
    {
        Assert.Equal("elsewhere", Decide(Standby("same-node", priority: 9, node: "n1"), Standby("elsewhere", readyAt: 5)).Lease.Holder);
        Assert.Equal("same-node", Decide(Standby("same-node", node: "n1")).Lease.Holder);
    }

    [Fact]
    public void AnExcludedStandbyIsNeverPromoted()
    {
        var plan = Decide(Standby("excluded", promotable: false));
        Assert.Equal(LeaseAction.None, plan.Lease);
        Assert.Equal(GroupPhase.Degraded, plan.Status.Phase);
        Assert.Equal(0, plan.Status.ReadyStandbys);
    }

    [Fact]
    public void WhenOnlyExcludedStandbysAreReadyDegradedSaysSo()
    {
        var healthy = new PodState("a", Roles.Active, true, "Running", true, T0, false);
        var plan = FailoverDecision.Decide(new GroupObservation(1, Spec, null, [healthy, Standby("b", promotable: false)], [], new LeaseState("a", T0), null, T0));
        Assert.Equal(GroupPhase.Healthy, plan.Status.Phase);
        var degraded = plan.Status.Conditions!.Single(c => c.Type == ConditionTypes.Degraded);
        Assert.Equal("True", degraded.Status);
        Assert.Contains("Ready but excluded with failover.dev/promotable=false: b", degraded.Message);
    }

    [Fact]
    public void ABadAnnotationIsReportedAndReadAsItsDefault()
    {
        var plan = Decide(Standby("b", problem: "failover.dev/priority=\"high\" is not an integer; read as 0"));
        Assert.Equal("b", plan.Lease.Holder);
        var condition = plan.Status.Conditions!.Single(c => c.Type == ConditionTypes.InvalidAnnotation);
        Assert.Contains("pod b: failover.dev/priority=\"high\" is not an integer", condition.Message);
    }

    [Fact]
    public void AnActiveOnALostNodeIsReplacedWithReasonNodeLostAndAStandbyThereIsNoCandidate()
    {
        var lostActive = new PodState("a", Roles.Active, true, "Running", true, T0, false, Node: "n1", NodeLost: true);
        var plan = FailoverDecision.Decide(new GroupObservation(1, Spec, null,
            [lostActive, Standby("same-node", node: "n1") with { NodeLost = true }, Standby("elsewhere", readyAt: 5)], [], new LeaseState("a", T0), null, T0));
        Assert.Equal("elsewhere", plan.Lease.Holder);
        Assert.Equal(FailoverReasons.NodeLost, plan.Failover!.Reason);
        Assert.Contains(plan.Events, e => e.Message.Contains("its node stopped heartbeating"));
    }

    [Fact]
    public void AMemberOnALostNodeIsUnhealthyWhateverItsLastStatusSaid()
    {
        var pod = Standby("b") with { NodeLost = true };
        Assert.Equal(FailoverReasons.NodeLost, pod.UnhealthyReason);
        Assert.Equal(FailoverReasons.Terminating, (pod with { Terminating = true }).UnhealthyReason);
    }
}
