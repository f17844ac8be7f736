using FailoverOperator.Failover;
using k8s;
using k8s.Models;

namespace FailoverOperator.UnitTests;

/// <summary>spec.activeCount above 1: the pure rules of the active set (FailoverDecision.ActiveSet.cs) and its Lease encoding.</summary>
public class ActiveSetDecisionTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly V1LabelSelector Selector = new() { MatchLabels = new Dictionary<string, string> { ["app"] = "db" } };

    private static HighAvailabilityGroupSpec Spec(int activeCount, int delay = 0, bool paused = false, string fencing = FencingModes.Label) =>
        new() { Selector = Selector, ActiveCount = activeCount, FailoverDelaySeconds = delay, Paused = paused, Fencing = fencing };

    private static PodState Pod(string name, string role = Roles.Standby, bool ready = true, int readyAt = 0, string? node = null, int priority = 0,
        bool promotable = true, string? drain = null) =>
        new(name, role, Annotated: true, "Running", ready, ready ? T0.AddSeconds(readyAt - 600) : null, Terminating: false,
            Node: node, Priority: priority, Promotable: promotable, NodeDrain: drain);

    private static LeaseState Set(params string[] actives) =>
        new(actives[0], T0, Transitions: 4, ActivesOrNull: actives.Length > 1 ? actives : null);

    private static FailoverPlan Decide(HighAvailabilityGroupSpec spec, IEnumerable<PodState> members, LeaseState? lease = null,
        HighAvailabilityGroupStatus? status = null, DateTimeOffset? now = null, string? request = null, IEnumerable<string>? formers = null) =>
        FailoverDecision.Decide(new GroupObservation(1, spec, status, members.ToList(), (formers ?? []).ToList(), lease, null, now ?? T0,
            SwitchoverRequest: request, Name: "db"));

    private static V1Condition Condition(FailoverPlan plan, string type) => plan.Status.Conditions!.Single(c => c.Type == type);

    [Fact]
    public void TheFirstElectionMakesTheNBestCandidatesActiveInOneLeaseWrite()
    {
        var plan = Decide(Spec(2), [Pod("a", readyAt: 3), Pod("b", readyAt: 1), Pod("c", readyAt: 2), Pod("d", readyAt: 9)]);

        Assert.Equal((LeaseActionKind.Create, "b", 0), (plan.Lease.Kind, plan.Lease.Holder, plan.Lease.Term));
        Assert.Equal(["b", "c"], plan.Lease.Actives);
        Assert.Equal([new RoleChange("b", Roles.Active), new RoleChange("c", Roles.Active)], plan.RoleChanges);
        Assert.Equal(("b", GroupPhase.Healthy, 2), (plan.Status.ActivePod, plan.Status.Phase, plan.Status.ReadyStandbys));
        Assert.Equal(["b", "c"], plan.Status.ActivePods);
        Assert.Equal(("True", "False"), (Condition(plan, ConditionTypes.Available).Status, Condition(plan, ConditionTypes.Degraded).Status));
        Assert.Equal(["b", "c"], plan.Events.Where(e => e.Reason == EventReasons.Promoted).Select(e => e.Pod));
    }

    [Fact]
    public void TheElectionPrefersSpreadingActivesAcrossNodesAfterPriority()
    {
        var plan = Decide(Spec(2), [Pod("a", readyAt: 0, node: "n1"), Pod("b", readyAt: 1, node: "n1"), Pod("c", readyAt: 2, node: "n2")]);
        Assert.Equal(["a", "c"], plan.Lease.Actives);

        // Priority still comes first: b shares a's node and is chosen over c anyway.
        var prioritized = Decide(Spec(2), [Pod("a", readyAt: 0, node: "n1", priority: 5), Pod("b", readyAt: 1, node: "n1", priority: 5), Pod("c", readyAt: 2, node: "n2")]);
        Assert.Equal(["a", "b"], prioritized.Lease.Actives);
    }

    [Fact]
    public void TheElectionAdoptsPodsAlreadyActiveUpToNAndDemotesTheRestFirst()
    {
        var plan = Decide(Spec(2), [Pod("a", Roles.Active, readyAt: 5), Pod("b", Roles.Active, readyAt: 1), Pod("c", Roles.Active, readyAt: 3), Pod("d", readyAt: 0)]);

        Assert.Equal(["b", "c"], plan.Lease.Actives);
        Assert.Equal([new RoleChange("a", Roles.Standby)], plan.RoleChanges);
        Assert.All(plan.Events, e => Assert.Contains("adopted", e.Message));
    }

    [Fact]
    public void AFailedActiveIsReplacedByTheBestStandbyInItsPlaceAndTheOtherActivesAreUntouched()
    {
        var plan = Decide(Spec(3), [Pod("a", Roles.Active), Pod("b", Roles.Active, ready: false, node: "n1"), Pod("c", Roles.Active),
            Pod("d", readyAt: 0, node: "n1"), Pod("e", readyAt: 5, node: "n2")], Set("a", "b", "c"));

        Assert.Equal((LeaseActionKind.Transfer, "a"), (plan.Lease.Kind, plan.Lease.Holder));
        Assert.Equal(["a", "e", "c"], plan.Lease.Actives);
        Assert.Equal(("b", "e", FailoverReasons.NotReady, 5), (plan.Failover!.From, plan.Failover.To, plan.Failover.Reason, plan.Failover.Term));
        Assert.Same(plan.Failover, plan.Lease.Failover); // committed in the same write
        Assert.Equal([new RoleChange("b", Roles.Standby), new RoleChange("e", Roles.Active)], plan.RoleChanges);
        Assert.Equal((5, GroupPhase.Healthy), (plan.Status.FailoverCount, plan.Status.Phase));
        Assert.Equal(plan.Failover, plan.Status.LastFailover);
        Assert.Contains(plan.Events, e => e.Reason == EventReasons.FailoverStarted && e.Term == 5);
    }

    [Fact]
    public void AFailedHolderIsReplacedInPlaceSoTheReplacementHoldsTheLease()
    {
        var plan = Decide(Spec(2), [Pod("a", Roles.Active, ready: false), Pod("b", Roles.Active), Pod("c")], Set("a", "b"));
        Assert.Equal("c", plan.Lease.Holder);
        Assert.Equal(["c", "b"], plan.Lease.Actives);
        Assert.Equal("c", plan.Status.ActivePod);
    }

    [Fact]
    public void TwoFailedActivesAreReplacedOnePerLeaseWriteEachWithItsOwnTerm()
    {
        var plan = Decide(Spec(2), [Pod("a", Roles.Active, ready: false), Pod("b", Roles.Active, ready: false), Pod("c"), Pod("d", readyAt: 5)], Set("a", "b"));

        Assert.Equal(["c", "b"], plan.Lease.Actives);
        Assert.Equal(("a", "c", 5), (plan.Failover!.From, plan.Failover.To, plan.Failover.Term));
        Assert.Equal(GroupPhase.FailingOver, plan.Status.Phase);
        Assert.Equal("b", Assert.Single(plan.Status.ActiveFailures!).Pod);

        // The next reconcile sees the Lease as written and replaces the other one.
        var next = Decide(Spec(2), [Pod("a", Roles.Standby, ready: false), Pod("b", Roles.Active, ready: false), Pod("c", Roles.Active), Pod("d", readyAt: 5)],
            Set("c", "b") with { Transitions = 5 }, plan.Status);
        Assert.Equal(["c", "d"], next.Lease.Actives);
        Assert.Equal(("b", "d", 6), (next.Failover!.From, next.Failover.To, next.Failover.Term));
    }

    [Fact]
    public void EachFailedActiveWaitsOutTheFailoverDelayFromItsOwnRecordedStart()
    {
        var pods = new[] { Pod("a", Roles.Active), Pod("b", Roles.Active, ready: false), Pod("c") };
        var first = Decide(Spec(2, delay: 5), pods, Set("a", "b"));
        Assert.Equal(LeaseActionKind.None, first.Lease.Kind);
        Assert.Equal((GroupPhase.FailingOver, TimeSpan.FromSeconds(5)), (first.Status.Phase, first.RequeueAfter));
        Assert.Equal(("b", T0.UtcDateTime), (first.Status.ActiveFailures!.Single().Pod, first.Status.ActiveFailures!.Single().Since));
        Assert.Equal("b", first.Status.ActiveFailure!.Pod);
        Assert.Equal("True", Condition(first, ConditionTypes.Available).Status); // a is still active and Ready

        // Another leader, 5 s later, counts from the recorded start.
        var later = Decide(Spec(2, delay: 5), pods, Set("a", "b"), first.Status, now: T0.AddSeconds(5));
        Assert.Equal(("b", "c", T0.UtcDateTime), (later.Failover!.From, later.Failover.To, later.Failover.DetectedAt));
    }

    [Fact]
    public void AFailedActiveWithoutACandidateKeepsItsRoleAndTheGroupIsDegradedOnce()
    {
        var plan = Decide(Spec(2), [Pod("a", Roles.Active), Pod("b", Roles.Active, ready: false), Pod("x", promotable: false)], Set("a", "b"));

        Assert.Equal(LeaseActionKind.None, plan.Lease.Kind);
        Assert.Empty(plan.RoleChanges);
        Assert.Equal(GroupPhase.Degraded, plan.Status.Phase);
        Assert.Equal("True", Condition(plan, ConditionTypes.Available).Status);
        Assert.Contains("no standby is Ready (Ready but excluded with failover.dev/promotable=false: x)", Condition(plan, ConditionTypes.Degraded).Message);
        Assert.Single(plan.Events, e => e.Reason == EventReasons.NoStandbyAvailable);

        var again = Decide(Spec(2), [Pod("a", Roles.Active), Pod("b", Roles.Active, ready: false)], Set("a", "b"), plan.Status);
        Assert.DoesNotContain(again.Events, e => e.Reason == EventReasons.NoStandbyAvailable);
    }

    [Fact]
    public void ADeletedActiveIsReplacedAsDeletedAndOneThatLeftTheSelectorAsNoLongerMember()
    {
        var deleted = Decide(Spec(2), [Pod("a", Roles.Active), Pod("c")], Set("a", "b"));
        Assert.Equal(("b", "c", FailoverReasons.Deleted), (deleted.Failover!.From, deleted.Failover.To, deleted.Failover.Reason));

        var left = Decide(Spec(2), [Pod("a", Roles.Active), Pod("c")], Set("a", "b"), formers: ["b"]);
        Assert.Equal(FailoverReasons.NoLongerMember, left.Failover!.Reason);
        Assert.Equal(new RoleChange("b", null), left.RoleChanges[0]);
    }

    [Fact]
    public void WithFewerReadyMembersThanActiveCountAllAreActiveAndDegradedSaysSo()
    {
        var plan = Decide(Spec(3), [Pod("a"), Pod("b", readyAt: 1), Pod("c", ready: false)]);

        Assert.Equal(["a", "b"], plan.Lease.Actives);
        Assert.Equal(GroupPhase.Healthy, plan.Status.Phase);
        var degraded = Condition(plan, ConditionTypes.Degraded);
        Assert.Equal(("True", "FewerActivesThanActiveCount"), (degraded.Status, degraded.Reason));
        Assert.StartsWith("2 of spec.activeCount=3 pods are active and Ready", degraded.Message);
    }

    [Fact]
    public void AMemberThatBecomesReadyFillsAVacancyInANewTermWithoutAFailoverRecord()
    {
        var plan = Decide(Spec(3), [Pod("a", Roles.Active), Pod("b", Roles.Active), Pod("c")], Set("a", "b"));

        Assert.Equal(["a", "b", "c"], plan.Lease.Actives);
        Assert.Null(plan.Lease.Failover);
        Assert.Null(plan.Failover);
        Assert.Equal([new RoleChange("c", Roles.Active)], plan.RoleChanges);
        Assert.Equal(5, plan.Status.FailoverCount);
        Assert.Contains(plan.Events, e => e.Reason == EventReasons.Promoted && e.Pod == "c");
    }

    [Fact]
    public void ARaisedActiveCountOnAOneActiveGroupAddsTheBestStandbyAndKeepsTheHolder()
    {
        var plan = Decide(Spec(2), [Pod("a", Roles.Active, readyAt: 9), Pod("b", readyAt: 5), Pod("c", readyAt: 1)], new LeaseState("a", T0, Transitions: 4));
        Assert.Equal((LeaseActionKind.Transfer, "a"), (plan.Lease.Kind, plan.Lease.Holder));
        Assert.Equal(["a", "c"], plan.Lease.Actives);
        Assert.Equal([new RoleChange("c", Roles.Active)], plan.RoleChanges);
    }

    [Fact]
    public void WithSeveralActivesTheFailureDomainComparesTheStandbysNotTheOtherActives()
    {
        var plan = Decide(Spec(2), [Pod("a", Roles.Active, node: "n1"), Pod("b", Roles.Active, node: "n2"), Pod("c", node: "n1")], Set("a", "b"));
        var domain = Condition(plan, ConditionTypes.SingleFailureDomain);
        Assert.Equal(("True", "StandbysShareActiveDomain"), (domain.Status, domain.Reason));
        Assert.Contains("every promotable Ready standby (c) is in node n1", domain.Message);
    }

    [Fact]
    public void ALoweredActiveCountDemotesTheLowestRankedActivesFirstAndTheFailedBeforeThem()
    {
        var pods = new[] { Pod("a", Roles.Active, readyAt: 0), Pod("b", Roles.Active, readyAt: 1, priority: 5), Pod("c", Roles.Active, readyAt: 2), Pod("d") };
        var plan = Decide(Spec(2), pods, Set("a", "b", "c"));
        Assert.Equal(["a", "b"], plan.Lease.Actives); // c: priority 0 and Ready the shortest
        Assert.Equal([new RoleChange("c", Roles.Standby)], plan.RoleChanges);
        Assert.Equal(EventReasons.Demoted, Assert.Single(plan.Events).Reason);
        Assert.Equal(5, plan.Status.FailoverCount);

        var toOne = Decide(Spec(1), pods, Set("a", "b", "c"));
        Assert.Equal("b", toOne.Lease.Holder);
        Assert.Equal(["b"], toOne.Lease.Actives);
        Assert.Equal(["a", "c"], toOne.RoleChanges.Select(c => c.Pod));
        Assert.All(toOne.RoleChanges, c => Assert.Equal(Roles.Standby, c.Role));

        var withFailed = Decide(Spec(2), [Pod("a", Roles.Active, ready: false, priority: 9), Pod("b", Roles.Active), Pod("c", Roles.Active)], Set("a", "b", "c"));
        Assert.Equal(["b", "c"], withFailed.Lease.Actives);
    }

    [Fact]
    public void AGroupBackAtActiveCountOneIsDecidedByTheSingleActiveRules()
    {
        // The set shrank to the holder: the Lease records no set, and the single-active rules fail over as before.
        var plan = Decide(Spec(1), [Pod("b", Roles.Active, ready: false), Pod("c")], Set("b"));
        Assert.Equal((LeaseActionKind.Transfer, "c"), (plan.Lease.Kind, plan.Lease.Holder));
        Assert.Null(plan.Lease.Actives);
        Assert.Equal(["c"], plan.Status.ActivePods);
    }

    [Fact]
    public void WhilePausedNothingIsReplacedOrFilledButAnExtraActiveStillLeaves()
    {
        var paused = Decide(Spec(3, paused: true), [Pod("a", Roles.Active), Pod("b", Roles.Active, ready: false), Pod("c"), Pod("d")], Set("a", "b"));
        Assert.Equal((LeaseActionKind.None, GroupPhase.Paused), (paused.Lease.Kind, paused.Status.Phase));
        Assert.Empty(paused.RoleChanges);

        var lowered = Decide(Spec(1, paused: true), [Pod("a", Roles.Active), Pod("b", Roles.Active)], Set("a", "b"));
        Assert.Equal(["a"], lowered.Lease.Actives);
    }

    [Fact]
    public void AnActiveOnADrainedNodeMovesToACandidateTheDrainDoesNotAlsoEvict()
    {
        var plan = Decide(Spec(2), [Pod("a", Roles.Active, node: "n1"), Pod("b", Roles.Active, node: "n2", drain: "cordoned"),
            Pod("c", readyAt: 0, node: "n2"), Pod("d", readyAt: 1, node: "n4", drain: "cordoned"), Pod("e", readyAt: 2, node: "n3")], Set("a", "b"));

        Assert.Equal(["a", "e"], plan.Lease.Actives);
        Assert.Equal(("b", "e", FailoverReasons.NodeDrain), (plan.Failover!.From, plan.Failover.To, plan.Failover.Reason));
        Assert.Contains(plan.Events, e => e.Reason == EventReasons.NodeDrain);
    }

    [Fact]
    public void AnActiveThatCannotLeaveADrainedNodeIsRecordedInActiveDrain()
    {
        var plan = Decide(Spec(2), [Pod("a", Roles.Active, node: "n1"), Pod("b", Roles.Active, node: "n2", drain: "cordoned")], Set("a", "b"));
        Assert.Equal(("b", "n2"), (plan.Status.ActiveDrain!.Pod, plan.Status.ActiveDrain.Node));
        Assert.Contains(plan.Events, e => e.Reason == EventReasons.NodeDrainBlocked);

        // Another active's failure does not make this healthy one "not healthy" in the record.
        var otherFailed = Decide(Spec(2), [Pod("a", Roles.Active, ready: false, node: "n1"), Pod("b", Roles.Active, node: "n2", drain: "cordoned")], Set("a", "b"));
        Assert.Equal(GroupPhase.Degraded, otherFailed.Status.Phase);
        Assert.Contains("no promotable standby is Ready on a schedulable node", otherFailed.Status.ActiveDrain!.Message);
    }

    [Fact]
    public void ASwitchoverToANamedStandbyReplacesTheLowestRankedActive()
    {
        var plan = Decide(Spec(2), [Pod("a", Roles.Active, readyAt: 0), Pod("b", Roles.Active, readyAt: 1), Pod("c", readyAt: 2)], Set("a", "b"), request: "c");

        Assert.Equal(["a", "c"], plan.Lease.Actives);
        Assert.Equal(("b", "c", FailoverReasons.Switchover), (plan.Failover!.From, plan.Failover.To, plan.Failover.Reason));
        Assert.Equal((SwitchoverResults.Succeeded, "b", "c"), (plan.Status.LastSwitchover!.Result, plan.Status.LastSwitchover.From, plan.Status.LastSwitchover.To));
        Assert.Equal("c", plan.HandledSwitchover);
        Assert.Null(plan.Status.LastFailover);
    }

    [Theory]
    [InlineData("any", "does not say which pod to make active")]
    [InlineData("b", "pod b is already active")]
    [InlineData("x", "pod x is excluded from promotion")]
    [InlineData("nope", "is not a member of the group")]
    public void ASwitchoverThatCannotBeCarriedOutIsRefusedSayingWhy(string request, string why)
    {
        var plan = Decide(Spec(2), [Pod("a", Roles.Active), Pod("b", Roles.Active), Pod("c"), Pod("x", promotable: false)], Set("a", "b"), request: request);

        Assert.Equal(LeaseActionKind.None, plan.Lease.Kind);
        Assert.Equal(SwitchoverResults.Refused, plan.Status.LastSwitchover!.Result);
        Assert.Contains(why, plan.Status.LastSwitchover.Message);
        Assert.Contains(plan.Events, e => e.Reason == EventReasons.SwitchoverRefused && e.Message.Contains(why));
        Assert.Equal(request, plan.HandledSwitchover);
    }

    [Fact]
    public void ASwitchoverWhileAnActiveHasFailedIsRefusedTheFailoverGoesFirst()
    {
        var plan = Decide(Spec(2, delay: 30), [Pod("a", Roles.Active), Pod("b", Roles.Active, ready: false), Pod("c")], Set("a", "b"), request: "c");
        Assert.Equal(SwitchoverResults.Refused, plan.Status.LastSwitchover!.Result);
        Assert.Contains("the failover goes first", plan.Status.LastSwitchover.Message);
    }

    [Fact]
    public void AgentFencingWithSeveralActivesIsRefusedWithoutAnyWriteAndTheGroupKeepsItsState()
    {
        var status = new HighAvailabilityGroupStatus { ActivePod = "a", ActivePods = ["a"], Phase = GroupPhase.Healthy };
        var plan = Decide(Spec(2, fencing: FencingModes.Agent), [Pod("a", Roles.Active), Pod("b"), Pod("c")], new LeaseState("a", T0), status);

        Assert.Equal((LeaseActionKind.None, GroupPhase.Invalid), (plan.Lease.Kind, plan.Status.Phase));
        Assert.Empty(plan.RoleChanges);
        Assert.Equal(Protection.Unchanged, plan.Protection);
        Assert.Equal(["a"], plan.Status.ActivePods);
        Assert.Contains("spec.activeCount: 2 is not supported with spec.fencing Agent", Condition(plan, ConditionTypes.InvalidSpec).Message);
        Assert.Single(plan.Events, e => e.Reason == EventReasons.InvalidSpec);
    }

    /// <summary>
    /// Every combination of four pods (Ready or not, labelled active or not), every recorded set of up to N of them and
    /// N = 1..3: the plan's Lease records at most N actives and adds only Ready pods, and carrying out its role changes
    /// in order never has more pods labelled active than N, at any step.
    /// </summary>
    [Fact]
    public void NoPlanEverLabelsMoreThanNActivesAtAnyStep()
    {
        string[] names = ["a", "b", "c", "d"];
        var checkedPlans = 0;
        for (var n = 1; n <= 3; n++)
        for (var ready = 0; ready < 16; ready++)
        for (var labelled = 0; labelled < 16; labelled++)
        for (var recorded = 0; recorded < 16; recorded++)
        {
            var set = names.Where((_, i) => (recorded >> i & 1) == 1).ToArray();
            var initiallyActive = names.Where((_, i) => (labelled >> i & 1) == 1).ToHashSet();
            // Labels never run ahead of the Lease in a state the operator produced; an adopted label without a Lease may.
            if (set.Length > n || (set.Length > 0 && !initiallyActive.IsSubsetOf(set)) || initiallyActive.Count > n) continue;
            var pods = names.Select((name, i) => Pod(name, initiallyActive.Contains(name) ? Roles.Active : Roles.Standby, ready: (ready >> i & 1) == 1, readyAt: i));
            var plan = Decide(Spec(n), pods, set.Length == 0 ? null : Set(set));

            Assert.True((plan.Lease.Actives?.Count ?? (plan.Lease.Holder is null ? 0 : 1)) <= n);
            // A pod newly made active is Ready: a failed one may keep its place, never gain one.
            var newlyActive = (plan.Lease.Actives ?? (plan.Lease.Holder is { } holder ? [holder] : [])).Except(set);
            Assert.All(newlyActive, name => Assert.True((ready >> Array.IndexOf(names, name) & 1) == 1, $"{name} made active while not Ready"));
            var active = new HashSet<string>(initiallyActive);
            foreach (var change in plan.RoleChanges)
            {
                if (change.Role == Roles.Active) active.Add(change.Pod); else active.Remove(change.Pod);
                Assert.True(active.Count <= n, $"N={n} ready={ready} labelled={labelled} set={string.Join(",", set)}: {active.Count} labelled active after {change}");
            }
            checkedPlans++;
        }
        Assert.True(checkedPlans > 1000);
    }

    [Fact]
    public void TheLeaseRecordsTheSetBesideItsHolderAndEveryChangeOfTheSetIsANewTerm()
    {
        var group = new HighAvailabilityGroup { Metadata = new V1ObjectMeta { Name = "db", NamespaceProperty = "ns", Uid = "u" }, Spec = Spec(3) };
        var created = GroupLease.New(group, "a", T0.UtcDateTime, actives: ["a", "b"]);
        Assert.Equal("a,b", created.Metadata.Annotations[Roles.LeaseActivesAnnotation]);
        Assert.Equal(["a", "b"], GroupLease.ActivesOf(created));

        var grown = GroupLease.Next(created, group, "a", T0.UtcDateTime, actives: ["a", "b", "c"]);
        Assert.Equal(("a", 1, "a,b,c"), (grown.Spec.HolderIdentity, grown.Spec.LeaseTransitions, grown.Metadata.Annotations[Roles.LeaseActivesAnnotation]));
        var same = GroupLease.Next(grown, group, "a", T0.UtcDateTime, actives: ["a", "b", "c"]);
        Assert.Equal(1, same.Spec.LeaseTransitions);

        // Back to one: the holder is the set again, and the annotation goes.
        var single = GroupLease.Next(grown, group, "b", T0.UtcDateTime, actives: ["b"]);
        Assert.Equal(("b", 2), (single.Spec.HolderIdentity, single.Spec.LeaseTransitions));
        Assert.False(single.Metadata.Annotations.ContainsKey(Roles.LeaseActivesAnnotation));
        Assert.Null(GroupLease.ActivesOf(single));
    }

    [Fact]
    public void ASetThatDoesNotStartWithTheHolderIsNotTrustedOnlyTheHolderIs()
    {
        var lease = new V1Lease
        {
            Metadata = new V1ObjectMeta { Annotations = new Dictionary<string, string> { [Roles.LeaseActivesAnnotation] = "b,c" } },
            Spec = new V1LeaseSpec { HolderIdentity = "a" },
        };
        Assert.Null(GroupLease.ActivesOf(lease));
        Assert.Equal(["a"], new LeaseState("a", null, ActivesOrNull: GroupLease.ActivesOf(lease)).Actives);
    }

    [Fact]
    public void TheBudgetKeepsAllNActivesAvailable()
    {
        var group = new HighAvailabilityGroup { Metadata = new V1ObjectMeta { Name = "db", NamespaceProperty = "ns" }, Spec = Spec(3) };
        Assert.Equal("3", ActiveProtection.Desired(group).Spec.MinAvailable!.Value);
    }

    [Fact]
    public void TheStatusListsTheActivesAndNamesTheFirstAsActivePod()
    {
        var plan = Decide(Spec(2), [Pod("a", Roles.Active), Pod("b", Roles.Active), Pod("c")], Set("a", "b"));
        Assert.Equal(LeaseActionKind.None, plan.Lease.Kind);
        Assert.Empty(plan.RoleChanges);
        var json = KubernetesJson.Serialize(plan.Status);
        Assert.Contains("\"activePod\":\"a\"", json);
        Assert.Contains("\"activePods\":[\"a\",\"b\"]", json);
        Assert.Equal("pods a, b are active and Ready", Condition(plan, ConditionTypes.Available).Message);
    }
}
