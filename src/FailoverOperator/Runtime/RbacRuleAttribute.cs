namespace FailoverOperator.Runtime;

/// <summary>Where a permission is needed: every watched namespace, or only the leader-election Lease's namespace.</summary>
public enum RbacScope
{
    /// <summary>The chart's ClusterRole (bound cluster-wide, or in watchNamespace only).</summary>
    Watched,
    /// <summary>The chart's Role in the release namespace; get/update are limited to the election Lease by name.</summary>
    LeaderElection,
    /// <summary>Cluster-scoped resources (nodes): a ClusterRole of its own, always bound by a ClusterRoleBinding (a RoleBinding
    /// in watchNamespace cannot grant what lives in no namespace).</summary>
    Cluster,
    /// <summary>The chart's Role in kube-node-lease (the kubelets' heartbeat Leases), only when node-loss detection is on.</summary>
    NodeHeartbeats,
}

/// <summary>
/// Declares a permission next to the code that uses it. The chart's RBAC rules are generated from
/// these (make crds), and the chart test proves exactly these verbs are allowed and others denied.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class RbacRuleAttribute(string apiGroup, string resource, params string[] verbs) : Attribute
{
    public string ApiGroup { get; } = apiGroup;
    public string Resource { get; } = resource;
    public IReadOnlyList<string> Verbs { get; } = verbs;
    public RbacScope Scope { get; init; } = RbacScope.Watched;
}
