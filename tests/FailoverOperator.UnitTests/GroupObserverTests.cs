using FailoverOperator.Failover;
using FailoverOperator.Runtime;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace FailoverOperator.UnitTests;

/// <summary>The observe step, from caches filled as a list would fill them.</summary>
public class GroupObserverTests
{
    private static readonly DateTime T0 = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    private static Informer<T, TList> Cache<T, TList>(params T[] items)
        where T : class, IKubernetesObject<V1ObjectMeta>
        where TList : IItems<T>, IMetadata<V1ListMeta>
    {
        var informer = new Informer<T, TList>(new ListWatch<T, TList>((_, _) => throw new NotSupportedException("no API server in unit tests")),
            NullLogger.Instance, typeof(T).Name);
        informer.OnList([.. items], "100");
        return informer;
    }

    private static HighAvailabilityGroup Group(string name, string app, ActiveFailure? failure = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "ns", ResourceVersion = "1" },
        Spec = new HighAvailabilityGroupSpec { Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["app"] = app } } },
        Status = new HighAvailabilityGroupStatus { ActiveFailure = failure },
    };

    private static V1Pod Pod(string name, string app, string? claimedBy = null, Dictionary<string, string>? annotations = null, string? node = null) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name, NamespaceProperty = "ns", ResourceVersion = "2",
            Labels = new Dictionary<string, string> { ["app"] = app },
            Annotations = claimedBy is null ? annotations : new Dictionary<string, string>(annotations ?? []) { [Roles.GroupAnnotation] = claimedBy },
        },
        Spec = node is null ? null : new V1PodSpec { NodeName = node },
        Status = new V1PodStatus { Phase = "Running" },
    };

    private static V1Lease Lease(string holder) => new()
    {
        Metadata = new V1ObjectMeta { Name = "db", NamespaceProperty = "ns", ResourceVersion = "3" },
        Spec = new V1LeaseSpec { HolderIdentity = holder, RenewTime = T0 },
    };

    private static GroupObserver Observer(HighAvailabilityGroup[] groups, V1Pod[] pods, V1Lease[] leases) =>
        new(new FailoverCaches(Cache<HighAvailabilityGroup, CustomResourceList<HighAvailabilityGroup>>(groups),
            Cache<V1Pod, V1PodList>(pods), Cache<V1Lease, V1LeaseList>(leases), new LeaseClock(TimeProvider.System)));

    [Fact]
    public void TheRecordedFailureStartIsKeptWhileTheSamePodHoldsTheLease()
    {
        // A new leader continues spec.failoverDelaySeconds from the recorded start instead of restarting it.
        var failure = new ActiveFailure { Pod = "a", Reason = FailoverReasons.NotReady, Since = T0 };
        var observed = Observer([Group("db", "db", failure)], [Pod("a", "db", "db")], [Lease("a")]).Observe("ns/db", T0.AddSeconds(30))!;
        Assert.Equal(new DateTimeOffset(T0), observed.Observation.ActiveUnhealthySince);

        var otherHolder = Observer([Group("db", "db", failure)], [Pod("a", "db", "db")], [Lease("b")]).Observe("ns/db", T0.AddSeconds(30))!;
        Assert.Null(otherHolder.Observation.ActiveUnhealthySince);
    }

    [Fact]
    public void MembersFormersAndPodsOfAnotherGroupAreToldApart()
    {
        var observer = Observer([Group("db", "db"), Group("other", "x")],
            [Pod("a", "db", "db"), Pod("b", "db"), Pod("c", "web", "db"), Pod("d", "db", "other"), Pod("e", "db", "deleted-group")], []);
        var observation = observer.Observe("ns/db", new DateTimeOffset(T0))!.Observation;
        Assert.Equal(["a", "b", "e"], observation.Members.Select(m => m.Name).Order());
        Assert.Equal([true, false, false], observation.Members.OrderBy(m => m.Name).Select(m => m.Annotated));
        Assert.Equal(["c"], observation.FormerMembers);
    }

    [Theory]
    [InlineData("7", null, 7, true, null)]
    [InlineData("-2", "false", -2, false, null)]
    [InlineData("high", null, 0, true, "failover.dev/priority=\"high\" is not an integer; read as 0")]
    [InlineData(null, "no", 0, true, "failover.dev/promotable=\"no\" is neither \"true\" nor \"false\"; read as true")]
    public void MemberAnnotationsAreReadAndBadValuesReported(string? priority, string? promotable, int expectedPriority, bool expectedPromotable, string? problem)
    {
        var annotations = new Dictionary<string, string>();
        if (priority is not null) annotations[Roles.PriorityAnnotation] = priority;
        if (promotable is not null) annotations[Roles.PromotableAnnotation] = promotable;
        var member = Observer([Group("db", "db")], [Pod("a", "db", annotations: annotations, node: "n1")], []).Observe("ns/db", new DateTimeOffset(T0))!
            .Observation.Members.Single();
        Assert.Equal((expectedPriority, expectedPromotable, "n1", problem), (member.Priority, member.Promotable, member.Node, member.AnnotationProblem));
    }

    [Fact]
    public void ADeletedGroupIsObservedAsNothing() =>
        Assert.Null(Observer([], [Pod("a", "db", "db")], []).Observe("ns/db", new DateTimeOffset(T0)));
}
