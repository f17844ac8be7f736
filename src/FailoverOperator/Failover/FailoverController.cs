using FailoverOperator.Runtime;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FailoverOperator.Failover;

/// <summary>
/// The failover controller's wiring: what it watches (one ListWatch line per kind), which groups a
/// change wakes (the named functions of <see cref="GroupMappings"/>), and how a group is reconciled.
/// </summary>
[RbacRule(HighAvailabilityGroup.Group, HighAvailabilityGroup.Plural, "list", "watch")]
[RbacRule("", "pods", "list", "watch")]
[RbacRule("coordination.k8s.io", "leases", "list", "watch")]
[RbacRule(PodDisruptionBudgetApi.Group, PodDisruptionBudgetApi.Plural, "list", "watch")]
// Nodes are cluster-scoped: granted by a ClusterRoleBinding even when the chart watches one namespace.
[RbacRule("", "nodes", "list", "watch", Scope = RbacScope.Cluster)]
public sealed class FailoverController
{
    public const string Name = "highavailabilitygroup";

    public FailoverCaches Caches { get; }
    public Controller Controller { get; }

    /// <param name="watches">A client whose requests may stay open (no timeout), for the watches.</param>
    /// <param name="requests">A client for the writes.</param>
    /// <param name="ns">One namespace, or null for all.</param>
    /// <param name="nodeLeaseStaleAfter">A member whose node's heartbeat is older than this counts as failed; null: not watched.</param>
    public FailoverController(IKubernetes watches, IKubernetes requests, string? ns, EventRecorder events, int workers, ILoggerFactory loggers,
        TimeSpan? nodeLeaseStaleAfter = null)
    {
        var log = loggers.CreateLogger("Informer");
        var groups = new Informer<HighAvailabilityGroup, CustomResourceList<HighAvailabilityGroup>>(
            ListWatch.For<HighAvailabilityGroup, CustomResourceList<HighAvailabilityGroup>>(watches, ns), log, "groups",
            notFoundHint: "The HighAvailabilityGroup CRD: kubectl apply -f crds/");
        var pods = new Informer<V1Pod, V1PodList>(ListWatch.For<V1Pod, V1PodList>(watches, ns), log, "pods", StripPod);
        var leases = new Informer<V1Lease, V1LeaseList>(ListWatch.For<V1Lease, V1LeaseList>(watches, ns, Roles.LeaseGroupLabel), log, "leases");
        // Every node, whatever the watched namespace: whether an active's node is being drained, and its zone.
        var nodes = new Informer<V1Node, V1NodeList>(ListWatch.For<V1Node, V1NodeList>(watches, null), log, "nodes", NodeFacts.Strip);
        var budgetApi = new PodDisruptionBudgetApi(requests);
        var budgets = new Informer<V1PodDisruptionBudget, V1PodDisruptionBudgetList>(
            new PodDisruptionBudgetApi(watches).ListWatch(ns, Roles.LeaseGroupLabel), log, "poddisruptionbudgets");
        var leaseClock = new LeaseClock(TimeProvider.System);
        leases.Changed += leaseClock.OnChanged;
        var heartbeats = nodeLeaseStaleAfter is { } staleAfter
            ? (new Informer<V1Lease, V1LeaseList>(ListWatch.For<V1Lease, V1LeaseList>(watches, NodeHeartbeats.Namespace), log, "node-leases"),
                new NodeHeartbeats(staleAfter, TimeProvider.System))
            : ((Informer<V1Lease, V1LeaseList>, NodeHeartbeats)?)null;
        Caches = new FailoverCaches(groups, pods, leases, leaseClock, nodes, budgets) { Heartbeats = heartbeats };

        var protection = new ActiveProtection(budgetApi, budgets, events);
        var reconciler = new GroupReconciler(new GroupObserver(Caches), new PlanExecutor(requests, Caches, events, TimeProvider.System, protection),
            new FailoverMetrics(), TimeProvider.System, loggers.CreateLogger<GroupReconciler>());
        Controller = new Controller(Name, reconciler, workers, loggers.CreateLogger<Controller>())
            .Watches(groups, (old, current) => GroupMappings.FromGroup(old, current, groups.List))
            .Watches(pods, (old, current) => GroupMappings.FromPod(old, current, groups.List))
            .Watches(leases, GroupMappings.FromLease)
            .Watches(nodes, (old, current) => GroupMappings.FromNode(old, current, pods.List))
            .Watches(budgets, GroupMappings.FromBudget);
        if (heartbeats is var (nodeLeases, clock))
        {
            // A heartbeat is noted on every renewal; only one that comes back after its node counted as lost
            // wakes the groups with members there. Its going stale is a matter of time: each group asks to be
            // looked at again when a member's node would cross the threshold.
            Controller.Watches(nodeLeases, (old, current) => clock.Observe(old, current) is { } node
                ? GroupMappings.OnNode(node, pods.List(), groups.List)
                : []);
        }
    }

    /// <summary>
    /// The decision reads a pod's metadata, node, phase, conditions and whether its containers terminated; the rest is dropped so the cache
    /// stays small. Listed pods come without apiVersion and kind, which an Event's involvedObject needs.
    /// </summary>
    private static V1Pod StripPod(V1Pod pod)
    {
        pod.ApiVersion ??= V1Pod.KubeApiVersion;
        pod.Kind ??= V1Pod.KubeKind;
        // Only the node: the failed active's node is the last place to look for its replacement.
        pod.Spec = pod.Spec?.NodeName is { } node ? new V1PodSpec { NodeName = node } : null;
        if (pod.Status is { } status)
        {
            pod.Status = new V1PodStatus
            {
                Phase = status.Phase, Conditions = status.Conditions, PodIP = status.PodIP,
                // Only whether each container terminated: a proof that an old active stopped (Agent mode).
                ContainerStatuses = status.ContainerStatuses?.Select(c => new V1ContainerStatus
                {
                    Name = c.Name, State = new V1ContainerState { Terminated = c.State?.Terminated is null ? null : new V1ContainerStateTerminated() },
                }).ToList(),
            };
        }
        return pod;
    }
}
