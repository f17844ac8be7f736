using FailoverOperator.Failover;
using FailoverOperator.Runtime;
using k8s.Models;

namespace FailoverOperator.UnitTests;

/// <summary>The SingleFailureDomain condition, what the operator reads from Nodes, the node and budget mappings, and the budget's shape.</summary>
public class TopologyAndBudgetTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly V1LabelSelector Selector = new() { MatchLabels = new Dictionary<string, string> { ["app"] = "db" } };

    private static PodState Pod(string name, string? node, string? zone = null, string role = Roles.Standby, bool ready = true, bool promotable = true) =>
        new(name, role, true, "Running", ready, ready ? T0.AddSeconds(-60) : null, false, Node: node, Zone: zone, Promotable: promotable);

    private static V1Condition? Domain(params PodState[] members) =>
        FailoverDecision.Decide(new GroupObservation(1, new HighAvailabilityGroupSpec { Selector = Selector }, null, members, [],
            new LeaseState(members.FirstOrDefault(m => m.Role == Roles.Active)?.Name, T0), null, T0, Name: "db"))
            .Status.Conditions!.SingleOrDefault(c => c.Type == ConditionTypes.SingleFailureDomain);

    [Fact]
    public void EveryStandbyOnTheActivesNodeIsASingleFailureDomainNamingTheNode()
    {
        var condition = Domain(Pod("a", "n1", role: Roles.Active), Pod("b", "n1"), Pod("c", "n1"))!;
        Assert.Equal(("True", "StandbysShareActiveDomain"), (condition.Status, condition.Reason));
        Assert.Contains("every promotable Ready standby (b, c) is in node n1 with the active a", condition.Message);
        Assert.Contains("topologyKey kubernetes.io/hostname", condition.Message);
    }

    [Fact]
    public void AStandbyOnAnotherNodeWithoutZonesIsAnotherDomain()
    {
        var condition = Domain(Pod("a", "n1", role: Roles.Active), Pod("b", "n1"), Pod("c", "n2"))!;
        Assert.Equal(("False", "StandbysInOtherDomains"), (condition.Status, condition.Reason));
        Assert.Contains("1 promotable Ready standby(s) outside node n1 of the active a: c (node n2)", condition.Message);
    }

    [Fact]
    public void WhenNodesCarryZonesTheDomainIsTheZone()
    {
        var same = Domain(Pod("a", "n1", "z1", Roles.Active), Pod("b", "n2", "z1"))!;
        Assert.Equal("True", same.Status);
        Assert.Contains("is in zone z1 with the active a", same.Message);
        Assert.Contains("topologyKey topology.kubernetes.io/zone", same.Message);
        var other = Domain(Pod("a", "n1", "z1", Roles.Active), Pod("b", "n2", "z1"), Pod("c", "n3", "z2"))!;
        Assert.Equal("False", other.Status);
        Assert.Contains("outside zone z1 of the active a: c (zone z2)", other.Message);
        // A standby whose node has no zone is elsewhere unless it shares the active's node.
        Assert.Equal("False", Domain(Pod("a", "n1", "z1", Roles.Active), Pod("b", "n2"))!.Status);
        Assert.Equal("True", Domain(Pod("a", "n1", "z1", Roles.Active), Pod("b", "n1"))!.Status);
    }

    [Fact]
    public void OnlyPromotableReadyStandbysCount()
    {
        var condition = Domain(Pod("a", "n1", role: Roles.Active), Pod("b", "n1"), Pod("excluded", "n2", promotable: false), Pod("down", "n3", ready: false))!;
        Assert.Equal("True", condition.Status);
        var none = Domain(Pod("a", "n1", role: Roles.Active), Pod("excluded", "n2", promotable: false))!;
        Assert.Equal(("False", "NoReadyStandby"), (none.Status, none.Reason));
    }

    [Fact]
    public void WithoutAnActiveOnAKnownNodeThereIsNoCondition()
    {
        Assert.Null(Domain(Pod("a", null, role: Roles.Active), Pod("b", "n1")));
        Assert.Null(Domain(Pod("a", "n1", ready: false), Pod("b", "n1", ready: false)));
    }

    private static V1Node Node(string name, bool cordoned = false, string? zone = null, params V1Taint[] taints) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, ResourceVersion = "1", Labels = zone is null ? null : new Dictionary<string, string> { [FailoverDecision.ZoneLabel] = zone } },
        Spec = new V1NodeSpec { Unschedulable = cordoned ? true : null, Taints = taints },
        Status = new V1NodeStatus { Conditions = [new V1NodeCondition { Type = "Ready", Status = "True" }] },
    };

    [Fact]
    public void ANodeIsBeingDrainedWhenCordonedOrTaintedNoExecuteOnly()
    {
        Assert.Equal("cordoned", NodeFacts.DrainOf(Node("n", cordoned: true)));
        Assert.Equal("taint k=v:NoExecute", NodeFacts.DrainOf(Node("n", taints: new V1Taint { Key = "k", Value = "v", Effect = "NoExecute" })));
        Assert.Equal("taint k:NoExecute", NodeFacts.DrainOf(Node("n", taints: new V1Taint { Key = "k", Effect = "NoExecute" })));
        Assert.Null(NodeFacts.DrainOf(Node("n", taints: new V1Taint { Key = "k", Effect = "NoSchedule" })));
        Assert.Null(NodeFacts.DrainOf(Node("n")));
        Assert.Equal("z1", NodeFacts.ZoneOf(Node("n", zone: "z1")));
        Assert.Null(NodeFacts.ZoneOf(Node("n")));
    }

    [Fact]
    public void TheNodeCacheKeepsOnlyWhatTheDecisionReads()
    {
        var stripped = NodeFacts.Strip(Node("n", true, "z1", new V1Taint { Key = "a", Effect = "NoSchedule" }, new V1Taint { Key = "b", Effect = "NoExecute" }));
        Assert.Null(stripped.Status);
        Assert.Equal("b", Assert.Single(stripped.Spec.Taints).Key);
        Assert.Equal(("cordoned", "z1"), (NodeFacts.DrainOf(stripped), NodeFacts.ZoneOf(stripped)));
    }

    private static V1Pod ClaimedPod(string ns, string name, string node, string? group) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name, NamespaceProperty = ns,
            Annotations = group is null ? null : new Dictionary<string, string> { [Roles.GroupAnnotation] = group },
        },
        Spec = new V1PodSpec { NodeName = node },
    };

    [Fact]
    public void ANodeWakesTheGroupsWithMembersOnItOnlyWhenItsDrainOrZoneChanges()
    {
        V1Pod[] pods = [ClaimedPod("x", "a", "n1", "db"), ClaimedPod("x", "b", "n1", "db"), ClaimedPod("y", "c", "n1", "web"), ClaimedPod("x", "d", "n2", "other"),
            ClaimedPod("x", "e", "n1", null)];
        IEnumerable<V1Pod> All() => pods;
        Assert.Empty(GroupMappings.FromNode(Node("n1"), Node("n1"), All));
        Assert.Empty(GroupMappings.FromNode(null, Node("n1", cordoned: true), All));
        Assert.Equal(["x/db", "y/web"], GroupMappings.FromNode(Node("n1"), Node("n1", cordoned: true), All).Order());
        Assert.Equal(["x/db", "y/web"], GroupMappings.FromNode(Node("n1"), Node("n1", zone: "z"), All).Order());
        Assert.Equal(["x/db", "y/web"], GroupMappings.FromNode(Node("n1"), Node("n1", taints: new V1Taint { Key = "k", Effect = "NoExecute" }), All).Order());
        Assert.Equal(["x/other"], GroupMappings.FromNode(Node("n2"), null, All));
    }

    private static HighAvailabilityGroup Group() => new()
    {
        Metadata = new V1ObjectMeta { Name = "db", NamespaceProperty = "ns", Uid = "uid-1" },
        Spec = new HighAvailabilityGroupSpec
        {
            Selector = new V1LabelSelector
            {
                MatchLabels = new Dictionary<string, string> { ["app"] = "db" },
                MatchExpressions = [new V1LabelSelectorRequirement { Key = "tier", OperatorProperty = "In", Values = ["data"] }],
            },
            ProtectActive = true,
        },
    };

    [Fact]
    public void TheBudgetSelectsTheActiveOfTheGroupOnlyAndIsOwnedByTheGroup()
    {
        var budget = ActiveProtection.Desired(Group());
        Assert.Equal(("db-active", "ns"), (budget.Metadata.Name, budget.Metadata.NamespaceProperty));
        Assert.Equal("1", budget.Spec.MinAvailable!.Value);
        Assert.Null(budget.Spec.MaxUnavailable);
        Assert.Equal(new Dictionary<string, string> { ["app"] = "db", [HighAvailabilityGroupSpec.DefaultRoleLabelKey] = Roles.Active }, budget.Spec.Selector.MatchLabels);
        Assert.Equal("tier", Assert.Single(budget.Spec.Selector.MatchExpressions).Key);
        var owner = Assert.Single(budget.Metadata.OwnerReferences);
        Assert.Equal((HighAvailabilityGroup.KindName, "db", "uid-1", true), (owner.Kind, owner.Name, owner.Uid, owner.Controller));
        Assert.Equal("db", budget.Metadata.Labels[Roles.LeaseGroupLabel]);
        Assert.Equal(["ns/db"], GroupMappings.FromBudget(null, budget));
    }

    [Fact]
    public void ABudgetIsRewrittenOnlyWhenWhatItSelectsChanged()
    {
        var desired = ActiveProtection.Desired(Group());
        var existing = ActiveProtection.Desired(Group());
        existing.Spec.Selector.MatchLabels = new Dictionary<string, string>(existing.Spec.Selector.MatchLabels.Reverse());
        existing.Metadata.ResourceVersion = "7";
        Assert.True(ActiveProtection.SameSpec(existing, desired));
        var other = Group();
        other.Spec.RoleLabelKey = "example.com/role";
        Assert.False(ActiveProtection.SameSpec(existing, ActiveProtection.Desired(other)));
    }

    [Fact]
    public void PolicyV1IsUsedWhenServedElseV1beta1()
    {
        Assert.Equal("v1", PodDisruptionBudgetApi.Choose(["v1", "v1beta1"]));
        Assert.Equal("v1", PodDisruptionBudgetApi.Choose(["v1"]));
        Assert.Equal("v1beta1", PodDisruptionBudgetApi.Choose(["v1beta1"]));
    }
}
