namespace FailoverOperator.Failover;

/// <summary>What the decision needs to know about one member pod.</summary>
public sealed record PodState(
    string Name,
    string? Role,
    bool Annotated,
    string? Phase,
    bool Ready,
    DateTimeOffset? ReadySince,
    bool Terminating,
    int? DemotedTerm = null,
    bool Stopped = false,
    int Priority = 0,
    bool Promotable = true,
    string? Node = null,
    string? AnnotationProblem = null,
    string? Uid = null,
    bool NodeLost = false,
    DateTime? ReadyTransition = null,
    string? NodeDrain = null,
    string? Zone = null)
{
    // NodeDrain: how the pod's node is being drained (cordoned, or a NoExecute taint), null when it is not.
    // Zone: the node's topology.kubernetes.io/zone label, when it has one.

    public bool IsHealthy => UnhealthyReason is null;

    /// <summary>Healthy and not excluded from promotion: it may become the active.</summary>
    public bool IsCandidate => IsHealthy && Promotable;

    /// <summary>Why this pod cannot be (or stay) active; null when it is healthy.</summary>
    public string? UnhealthyReason =>
        Terminating ? FailoverReasons.Terminating
        : NodeLost ? FailoverReasons.NodeLost
        : Phase == "Failed" ? FailoverReasons.PodFailed
        : Phase == "Succeeded" ? FailoverReasons.PodSucceeded
        : Phase != "Running" ? FailoverReasons.NotRunning
        : !Ready ? FailoverReasons.NotReady
        : null;
}

/// <summary>
/// The per-group Lease as the operator last saw it: its holder, renewal, transition count (the term),
/// the record of the failover that its last transfer committed, the fencing in progress (holder
/// empty), and since when this operator has seen it as it is now (on its own clock: expiry counts
/// from there, never from another machine's timestamps).
/// </summary>
public sealed record LeaseState(
    string? Holder,
    DateTimeOffset? RenewTime,
    int Transitions = 0,
    FailoverRecord? Failover = null,
    FencingRecord? Fencing = null,
    DateTimeOffset? SeenSince = null,
    int? DurationSeconds = null,
    IReadOnlyList<string>? ActivesOrNull = null,
    HolderRenewal? LastRenewal = null)
{
    /// <summary>Every pod the Lease records as active, the holder first: the annotation's set, else the holder alone, else none.</summary>
    public IReadOnlyList<string> Actives => ActivesOrNull ?? (string.IsNullOrEmpty(Holder) ? [] : [Holder]);
}

/// <summary>A pod the group's selector matches that another existing group already holds.</summary>
public sealed record ForeignClaim(string Pod, string Group);

/// <summary>Everything a decision is a function of: the group, its pods, its Lease and the clock.</summary>
public sealed record GroupObservation(
    long Generation,
    HighAvailabilityGroupSpec Spec,
    HighAvailabilityGroupStatus? Status,
    IReadOnlyList<PodState> Members,
    IReadOnlyList<string> FormerMembers,
    LeaseState? Lease,
    DateTimeOffset? ActiveUnhealthySince,
    DateTimeOffset Now,
    IReadOnlyList<ForeignClaim>? ClaimedByOthersOrNull = null,
    PodState? FencedPod = null,
    string? SwitchoverRequest = null,
    string? Name = null)
{
    public IReadOnlyList<ForeignClaim> ClaimedByOthers => ClaimedByOthersOrNull ?? [];

    /// <summary>The group's name (messages name the objects derived from it).</summary>
    public string GroupName => Name ?? "";
}

public static class FailoverReasons
{
    public const string Deleted = "Deleted";
    public const string NoLongerMember = "NoLongerMember";
    public const string Terminating = "Terminating";
    public const string PodFailed = "PodFailed";
    public const string PodSucceeded = "PodSucceeded";
    public const string NotRunning = "NotRunning";
    public const string NotReady = "NotReady";
    /// <summary>The pod's node stopped heartbeating (its kube-node-lease Lease went unrenewed for --node-lease-stale-seconds):
    /// whatever the pod's last reported status says, nobody vouches for it any more.</summary>
    public const string NodeLost = "NodeLost";
    /// <summary>Agent mode: the active's agent did not renew the Lease within its duration.</summary>
    public const string LeaseExpired = "LeaseExpired";
    /// <summary>Not a failure: a requested switchover (planned).</summary>
    public const string Switchover = "Switchover";
    /// <summary>Not a failure: the active's node is being drained (cordoned or tainted NoExecute) and it moved ahead of the eviction (planned).</summary>
    public const string NodeDrain = "NodeDrain";
    /// <summary>Agent mode: the Lease has no holder and no readable record of whom it fences (a foreign
    /// edit, or a Lease deleted while a pod was active): only its expiry can prove the last holder stopped.</summary>
    public const string UnknownHolder = "UnknownHolder";
}

public enum LeaseActionKind { None, Create, Transfer, Fence }

/// <summary>The Lease write that commits a decision. Holder is the pod that must hold it afterwards;
/// a transfer that is a failover carries its record, written into the Lease in the same write.</summary>
public sealed record LeaseAction(LeaseActionKind Kind, string? Holder, FailoverRecord? Failover = null, FencingRecord? Fencing = null)
{
    /// <summary>With spec.activeCount above 1: every pod that is active afterwards, <see cref="Holder"/> first; null: the holder alone.</summary>
    public IReadOnlyList<string>? Actives { get; init; }

    /// <summary>For a new Lease: the term it starts in (never below one the group already recorded).</summary>
    public int? Term { get; init; }

    public static readonly LeaseAction None = new(LeaseActionKind.None, null);
}

/// <summary>Set a pod's role label. A null role takes the pod out of the group (label and annotation removed).</summary>
public sealed record RoleChange(string Pod, string? Role);

public static class ConditionTypes
{
    public const string Available = "Available";
    public const string Degraded = "Degraded";
    public const string InvalidSpec = "InvalidSpec";
    /// <summary>A member's failover annotation has a value the operator cannot use; it is read as its default.</summary>
    public const string InvalidAnnotation = "InvalidAnnotation";
    /// <summary>Pods the selector matches that another group holds; they are not members of this one.</summary>
    public const string PodsInAnotherGroup = "PodsInAnotherGroup";
    /// <summary>Every promotable Ready standby shares the active's node (or zone, when nodes carry one).</summary>
    public const string SingleFailureDomain = "SingleFailureDomain";
}

public static class EventTypes
{
    public const string Normal = "Normal";
    public const string Warning = "Warning";
}

public static class EventReasons
{
    public const string Promoted = "Promoted";
    public const string FailoverStarted = "FailoverStarted";
    public const string NoStandbyAvailable = "NoStandbyAvailable";
    public const string LeaseNameTaken = "LeaseNameTaken";
    public const string InvalidSpec = "InvalidSpec";
    public const string FencingStarted = "FencingStarted";
    public const string SwitchedOver = "SwitchedOver";
    public const string SwitchoverRefused = "SwitchoverRefused";
    public const string Fenced = "Fenced";
    /// <summary>The active moved off a node being drained, ahead of the eviction (planned).</summary>
    public const string NodeDrain = "NodeDrain";
    /// <summary>The active's node is being drained and the active cannot be moved (why is in the message and status.activeDrain).</summary>
    public const string NodeDrainBlocked = "NodeDrainBlocked";
    /// <summary>No switchover within spec.drainTimeoutSeconds: the active's PodDisruptionBudget is lifted so the drain proceeds.</summary>
    public const string ProtectionLifted = "ProtectionLifted";
    /// <summary>The PodDisruptionBudget name the group needs is taken by one that is not the group's.</summary>
    public const string BudgetNameTaken = "BudgetNameTaken";
    /// <summary>spec.activeCount was lowered: the lowest-ranked extra actives became standbys.</summary>
    public const string Demoted = "Demoted";
}

/// <summary>What to do with the group's PodDisruptionBudget (spec.protectActive).</summary>
public enum Protection
{
    /// <summary>Leave it as it is (an invalid spec: nothing is written).</summary>
    Unchanged,
    /// <summary>It exists and selects the group's active pod.</summary>
    Ensure,
    /// <summary>It does not exist: protectActive is off, or it was lifted for a drain that no switchover could serve in time.</summary>
    Remove,
}

/// <summary>
/// An Event to record; on the group, and also on <see cref="Pod"/> when set. A failover's Events carry
/// its <see cref="Term"/>: they are written once per term (named after it) before the status records
/// the failover, so a crash between the two neither loses them nor, on the next reconcile, repeats them.
/// </summary>
public sealed record PlannedEvent(string Type, string Reason, string Message, string? Pod = null, int? Term = null);

/// <summary>
/// The outcome of a decision, to be carried out in order: the Lease write (the commit point), then
/// the role changes in list order (every demotion before any promotion), then status and events.
/// </summary>
public sealed record FailoverPlan(
    LeaseAction Lease,
    IReadOnlyList<RoleChange> RoleChanges,
    HighAvailabilityGroupStatus Status,
    IReadOnlyList<PlannedEvent> Events,
    TimeSpan? RequeueAfter,
    FailoverRecord? Failover)
{
    /// <summary>The switchover request (the annotation's value) this plan answers: removed once the status says how.</summary>
    public string? HandledSwitchover { get; init; }

    /// <summary>The group's PodDisruptionBudget protecting the active (spec.protectActive).</summary>
    public Protection Protection { get; init; }

    /// <summary>A switchover was accepted and waits for the old active to be proven stopped: the request stays.</summary>
    public bool SwitchoverUnderway { get; init; }

    /// <summary>
    /// Set on write 1 of Agent mode: the status, budget and request steps are left to the reconcile that
    /// follows, at the latest after this long. An acknowledging agent usually answers sooner; a status
    /// write here would hold up the reconcile that promotes (one reconcile per group at a time), and
    /// the status then records the completed failover instead of a wait that is already over.
    /// </summary>
    public TimeSpan? StatusDeferredFor { get; init; }

    /// <summary>Since when the current active has been unhealthy, while it is (also in <see cref="Status"/>).</summary>
    public DateTimeOffset? ActiveUnhealthySince =>
        Status.ActiveFailure?.Since is { } since ? new DateTimeOffset(DateTime.SpecifyKind(since, DateTimeKind.Utc)) : null;

    /// <summary>A failover the Lease recorded that no status did, superseded by this plan's own: its Events and metric are due.</summary>
    public FailoverRecord? EarlierFailover { get; init; }

    /// <summary>Role changes that are not the promotion, to be carried out first.</summary>
    public IEnumerable<RoleChange> Demotions => RoleChanges.Where(c => c.Role != Roles.Active);

    /// <summary>The changes that make pods active (several with spec.activeCount above 1), carried out only after every demotion.</summary>
    public IEnumerable<RoleChange> Promotions => RoleChanges.Where(c => c.Role == Roles.Active);
}
