using FailoverAgent.Kube;

namespace FailoverAgent.Roles;

/// <summary>One role change as hooks and the wrapped command see it.</summary>
/// <param name="StopBy">Demotion: the monotonic time by which the application must have stopped (null: no limit known).</param>
public sealed record RoleChange(AgentIdentity Identity, string Role, string Reason, long Term, TimeSpan? StopBy = null)
{
    public const string Active = "active";
    public const string Standby = "standby";

    public bool Planned => Fencing.RoleReasons.IsPlanned(Reason);

    /// <summary>The environment a hook (or the wrapped command) gets: FAILOVER_*.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["FAILOVER_GROUP"] = Identity.Group,
        ["FAILOVER_NAMESPACE"] = Identity.Namespace,
        ["FAILOVER_POD"] = Identity.Pod,
        ["FAILOVER_ROLE"] = Role,
        ["FAILOVER_REASON"] = Reason,
        ["FAILOVER_PLANNED"] = Planned ? "true" : "false",
        ["FAILOVER_TERM"] = Term.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public HookPayload Payload => new(Identity.Group, Identity.Namespace, Identity.Pod, Role, Reason, Planned, Term);

    public override string ToString() => $"{Role} (term {Term}, reason {Reason}, {(Planned ? "planned" : "unplanned")})";
}

/// <summary>What a role change does in this pod: hooks (sidecar) or the wrapped process (run).</summary>
public interface IRoleHandler
{
    /// <summary>Start acting. Cancelled when a demotion comes first.</summary>
    Task PromoteAsync(RoleChange change, CancellationToken cancel);

    /// <summary>
    /// Stop acting. True once this pod is known to no longer act (the acknowledgement follows);
    /// false when that could not be established (a demote hook that failed): no acknowledgement then.
    /// </summary>
    Task<bool> DemoteAsync(RoleChange change, CancellationToken cancel);
}
