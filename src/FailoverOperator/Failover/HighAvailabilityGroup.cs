using System.ComponentModel;
using System.Text.Json.Serialization;
using FailoverOperator.Runtime.Schema;
using k8s;
using k8s.Models;

namespace FailoverOperator.Failover;

/// <summary>The HighAvailabilityGroup custom resource (failover.dev/v1alpha1). Its CRD is generated from these types: make crds.</summary>
[KubernetesEntity(Group = Group, ApiVersion = Version, Kind = KindName, PluralName = Plural)]
[Description("Keeps exactly one pod of a set active (or spec.activeCount pods; label <roleLabelKey>=active), the others standby, and fails over to a Ready standby when an active fails.")]
[ShortName("hag")]
[PrinterColumn("Active", ".status.activePod", "string")]
[PrinterColumn("Phase", ".status.phase", "string")]
[PrinterColumn("Ready Standbys", ".status.readyStandbys", "integer")]
[PrinterColumn("Failovers", ".status.failoverCount", "integer")]
[PrinterColumn("Age", ".metadata.creationTimestamp", "date")]
public sealed class HighAvailabilityGroup : IKubernetesObject<V1ObjectMeta>
{
    public const string Group = "failover.dev";
    public const string Version = "v1alpha1";
    public const string Plural = "highavailabilitygroups";
    public const string KindName = "HighAvailabilityGroup";
    public const string ApiVersionName = Group + "/" + Version;

    [JsonPropertyName("apiVersion")] public string ApiVersion { get; set; } = ApiVersionName;
    [JsonPropertyName("kind")] public string Kind { get; set; } = KindName;
    [JsonPropertyName("metadata")] public V1ObjectMeta Metadata { get; set; } = new();
    [Description("The pods of the group and how it fails over.")]
    [JsonPropertyName("spec"), Required] public HighAvailabilityGroupSpec Spec { get; set; } = new();
    [Description("What the operator observed and did; written by the operator.")]
    [JsonPropertyName("status")] public HighAvailabilityGroupStatus? Status { get; set; }
}

public sealed class HighAvailabilityGroupSpec
{
    public const string DefaultRoleLabelKey = "failover.dev/role";

    [Description("Label selector (matchLabels, matchExpressions) over pods in the group's namespace. Must not be empty.")]
    [Required, MinProperties(1)]
    [JsonPropertyName("selector")] public V1LabelSelector? Selector { get; set; }

    [Description("The label the operator writes: \"active\" on the active pod, \"standby\" on every other member.")]
    [Default, MaxLength(316)]
    [Pattern(@"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")]
    [JsonPropertyName("roleLabelKey")] public string RoleLabelKey { get; set; } = DefaultRoleLabelKey;

    [Description("Duration of the group's Lease. In Agent mode the active's agent renews it every third of it and demotes itself when it cannot; " +
                 "a Lease not renewed for this long is a failure of the active. In Label mode nobody renews it.")]
    [Default, Range(1, 3600)]
    [JsonPropertyName("leaseDurationSeconds")] public int LeaseDurationSeconds { get; set; } = 15;

    [Description("The active must be unhealthy this long, continuously, before a standby takes over. A shorter blip changes nothing.")]
    [Default, Range(0, 3600)]
    [JsonPropertyName("failoverDelaySeconds")] public int FailoverDelaySeconds { get; set; }

    [Description("No automatic failover (maintenance). Labels and status are still maintained; an existing active is adopted, none is elected.")]
    [Default]
    [JsonPropertyName("paused")] public bool Paused { get; set; }

    [Description("Label: the role label moves at once and the Lease is only the record (no agent needed, zero API writes at rest). " +
                 "Agent: failover-agent in each member renews the Lease and runs the application's hooks; a new active is promoted " +
                 "only once the old one is proven stopped (docs/fencing.md).")]
    [Default, EnumValues(FencingModes.Label, FencingModes.Agent)]
    [JsonPropertyName("fencing")] public string Fencing { get; set; } = FencingModes.Label;

    [Description("The operator owns a PodDisruptionBudget (<group>-active, minAvailable spec.activeCount) selecting only the active pods (spec.selector plus " +
                 "<roleLabelKey>=active), so a node drain waits while an active is moved off the node instead of evicting it. Standbys stay evictable.")]
    [Default]
    [JsonPropertyName("protectActive")] public bool ProtectActive { get; set; }

    [Description("With protectActive: how long a drain of the active's node may be held when no switchover can happen (no promotable Ready " +
                 "standby on a schedulable node, or the group is paused). Then the PodDisruptionBudget is lifted with a Warning Event and the drain " +
                 "proceeds; a failover follows the eviction. Counted from status.activeDrain.since, also across operator leaders.")]
    [Default, Range(1, 86400)]
    [JsonPropertyName("drainTimeoutSeconds")] public int DrainTimeoutSeconds { get; set; } = 120;

    [Description("How many members carry the active role at once: 1 is active-standby, more is active-active. Each failed active is replaced by " +
                 "the best standby, never more than this many are labelled active at any instant, and the Lease records the whole set " +
                 "(annotation failover.dev/actives). With fewer Ready promotable members, all of them are active and condition Degraded says so. " +
                 "More than 1 is refused with fencing Agent (condition InvalidSpec).")]
    [Default, Range(1, 1000)]
    [JsonPropertyName("activeCount")] public int ActiveCount { get; set; } = 1;
}

public static class FencingModes
{
    public const string Label = "Label";
    public const string Agent = "Agent";
}

public sealed class HighAvailabilityGroupStatus
{
    // Written even when null: the status is sent as a merge patch, where an absent field keeps the old
    // value and only null removes it (a group that lost its active must not keep naming it).
    [Description("The pod carrying the active role (the Lease holder).")]
    [JsonPropertyName("activePod"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public string? ActivePod { get; set; }

    // Written even when null, like activePod.
    [Description("Every pod carrying the active role, in the Lease's order (the first is activePod); one entry while spec.activeCount is 1.")]
    [JsonPropertyName("activePods"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public IList<string>? ActivePods { get; set; }

    [Description("Pending (no Ready member yet), Healthy (active Ready), FailingOver (active unhealthy, waiting out failoverDelaySeconds), Degraded (active unhealthy and no Ready standby), FencingOldActive (Agent mode: the old active's Lease is taken away; waiting for proof it stopped), Paused, Invalid (the spec cannot be acted on; condition InvalidSpec says why; nothing is written).")]
    [EnumValues(typeof(GroupPhase), nameof(GroupPhase.All))]
    [JsonPropertyName("phase")] public string? Phase { get; set; }

    [Description("Members other than the active (or actives) that are Running, Ready and promotable.")]
    [JsonPropertyName("readyStandbys")] public int ReadyStandbys { get; set; }

    [Description("Changes of active (with activeCount above 1, of the set of actives), failovers and switchovers (the first election does not count): the Lease's leaseTransitions, so it cannot drift.")]
    [JsonPropertyName("failoverCount")] public int FailoverCount { get; set; }

    [Description("The last failover: from, to, reason (NotReady, Deleted, Terminating, PodFailed, PodSucceeded, NotRunning, NoLongerMember, NodeLost, LeaseExpired, UnknownHolder; NodeDrain: planned, the active moved off a node being drained), detectedAt, completedAt, durationMilliseconds, term (the Lease's leaseTransitions after it); Agent mode: proof, what showed the old active stopped (HandedOver: its agent demoted it and wrote the Lease to the new active itself; Acknowledged; ContainersTerminated; LeaseExpired).")]
    [JsonPropertyName("lastFailover")] public FailoverRecord? LastFailover { get; set; }

    // Written even when null, like activePod: a recovered active must clear it.
    [Description("The current active's failure while it lasts: pod, reason, since, readyTransition (the pod's Ready condition's lastTransitionTime then). failoverDelaySeconds counts from since, also after a change of operator leader, unless the pod's Ready condition has changed since (it recovered and failed again while no operator looked).")]
    [JsonPropertyName("activeFailure"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public ActiveFailure? ActiveFailure { get; set; }

    // Written even when null, like activeFailure.
    [Description("With spec.activeCount above 1: the failure of each unhealthy active while it lasts (as activeFailure, which holds the first of them); failoverDelaySeconds counts from each one's since.")]
    [JsonPropertyName("activeFailures"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public IList<ActiveFailure>? ActiveFailures { get; set; }

    // Written even when null, like activeFailure: a drain that ended must clear it.
    [Description("The drain of the active's node while it lasts and the active stays on it (the node is cordoned or has a NoExecute taint): " +
                 "pod, node, reason, since (drainTimeoutSeconds counts from it), protectionLiftedAt (when the PodDisruptionBudget was lifted), message (why the active was not moved).")]
    [JsonPropertyName("activeDrain"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public ActiveDrain? ActiveDrain { get; set; }

    [Description("The last switchover request (annotation failover.dev/switchover-to): requestedAt, from, to, result (Succeeded, Refused, Failed), message, durationMilliseconds, term.")]
    [JsonPropertyName("lastSwitchover")] public SwitchoverRecord? LastSwitchover { get; set; }

    [Description("The spec generation the status describes.")]
    [JsonPropertyName("observedGeneration")] public long? ObservedGeneration { get; set; }

    [Description("Available (a healthy active exists) and Degraded (no failover possible right now), with reasons and messages; InvalidSpec while the spec cannot be acted on; SingleFailureDomain (True when every promotable Ready standby shares the active's node, or its zone when nodes carry topology.kubernetes.io/zone).")]
    [ListMapKeys("type")]
    [JsonPropertyName("conditions")] public IList<V1Condition>? Conditions { get; set; }
}

public sealed record FailoverRecord
{
    [JsonPropertyName("from")] public string? From { get; init; }
    [JsonPropertyName("to")] public string? To { get; init; }
    [JsonPropertyName("reason")] public string? Reason { get; init; }
    [JsonPropertyName("detectedAt")] public DateTime? DetectedAt { get; init; }
    [JsonPropertyName("completedAt")] public DateTime? CompletedAt { get; init; }
    [JsonPropertyName("durationMilliseconds")] public long? DurationMilliseconds { get; init; }
    [Description("The Lease's leaseTransitions after this failover: the term the new active serves in.")]
    [JsonPropertyName("term")] public int? Term { get; init; }
    [Description("Agent mode: what proved the old active stopped acting before this one was promoted: HandedOver (its agent demoted it and wrote the Lease to the new active itself), Acknowledged (its agent's failover.dev/demoted-term), ContainersTerminated, or LeaseExpired.")]
    [JsonPropertyName("proof")] public string? Proof { get; init; }
}

/// <summary>The values of <see cref="FailoverRecord.Proof"/>: how Agent mode knew the old active stopped (docs/fencing.md).</summary>
public static class FencingProofs
{
    public const string HandedOver = "HandedOver";
    public const string Acknowledged = "Acknowledged";
    public const string ContainersTerminated = "ContainersTerminated";
    public const string LeaseExpired = "LeaseExpired";
}

public sealed record SwitchoverRecord
{
    [JsonPropertyName("requestedAt")] public DateTime? RequestedAt { get; init; }
    [JsonPropertyName("from")] public string? From { get; init; }
    [JsonPropertyName("to")] public string? To { get; init; }
    [JsonPropertyName("result")] public string? Result { get; init; }
    [JsonPropertyName("message")] public string? Message { get; init; }
    [JsonPropertyName("durationMilliseconds")] public long? DurationMilliseconds { get; init; }
    [JsonPropertyName("term")] public int? Term { get; init; }
}

public static class SwitchoverResults
{
    public const string Succeeded = "Succeeded";
    public const string Refused = "Refused";
    public const string Failed = "Failed";
}

/// <summary>
/// The current active's failure while it lasts: which pod, why, and since when. It is what makes
/// spec.failoverDelaySeconds survive a leader hand-over: the next leader counts from this, not from
/// the moment it first looked.
/// </summary>
public sealed record ActiveFailure
{
    [JsonPropertyName("pod")] public string? Pod { get; init; }
    [JsonPropertyName("reason")] public string? Reason { get; init; }
    [JsonPropertyName("since")] public DateTime? Since { get; init; }
    [JsonPropertyName("readyTransition")] public DateTime? ReadyTransition { get; init; }
}

/// <summary>
/// The drain of the active's node, while the active stays on it: recorded in the status so that a later
/// leader counts spec.drainTimeoutSeconds from the same <see cref="Since"/> and knows the protection was lifted.
/// </summary>
public sealed record ActiveDrain
{
    [JsonPropertyName("pod")] public string? Pod { get; init; }
    [JsonPropertyName("node")] public string? Node { get; init; }
    /// <summary>How the node is being drained: cordoned (spec.unschedulable) or a NoExecute taint.</summary>
    [JsonPropertyName("reason")] public string? Reason { get; init; }
    [JsonPropertyName("since")] public DateTime? Since { get; init; }
    [JsonPropertyName("protectionLiftedAt")] public DateTime? ProtectionLiftedAt { get; init; }
    [JsonPropertyName("message")] public string? Message { get; init; }
}

/// <summary>
/// The fencing in progress, in the Lease while its holder is empty: <see cref="From"/> held term
/// <see cref="Term"/> and must be proven stopped before anyone is promoted.
/// </summary>
public sealed record FencingRecord
{
    [JsonPropertyName("from")] public string? From { get; init; }
    [JsonPropertyName("term")] public int Term { get; init; }
    [JsonPropertyName("reason")] public string? Reason { get; init; }
    /// <summary>The pod chosen to promote (a switchover's target, or the best candidate when the Lease was taken): promoted once
    /// the old active is proven stopped, if still a candidate; the old active's agent hands the Lease to it itself.</summary>
    [JsonPropertyName("to")] public string? To { get; init; }
    /// <summary>What the switchover request said ("any" or the target), to answer it truthfully.</summary>
    [JsonPropertyName("requested")] public string? Requested { get; init; }
    /// <summary>The fenced pod's UID: a pod recreated under the same name proves nothing about the old one.</summary>
    [JsonPropertyName("uid")] public string? Uid { get; init; }
    /// <summary>The lease duration the fenced pod's agent renewed under: its self-demotion deadline counts from it.</summary>
    [JsonPropertyName("durationSeconds")] public int? DurationSeconds { get; init; }
    /// <summary>When the active's failure was first observed (the failover's detectedAt).</summary>
    [JsonPropertyName("detectedAt")] public DateTime? DetectedAt { get; init; }
    /// <summary>When the Lease was taken away; informational: the wait counts on the operator's own clock.</summary>
    [JsonPropertyName("since")] public DateTime? Since { get; init; }
}

public static class GroupPhase
{
    public const string Pending = "Pending";
    public const string Healthy = "Healthy";
    public const string Degraded = "Degraded";
    public const string FailingOver = "FailingOver";
    public const string Paused = "Paused";
    /// <summary>The spec cannot be acted on (status.conditions InvalidSpec says why); nothing is written.</summary>
    public const string Invalid = "Invalid";
    /// <summary>Agent mode: the old active's Lease was taken away; waiting for proof it stopped acting.</summary>
    public const string FencingOldActive = "FencingOldActive";
    public static readonly string[] All = [Pending, Healthy, Degraded, FailingOver, FencingOldActive, Paused, Invalid];
}

public static class Roles
{
    public const string Active = "active";
    public const string Standby = "standby";
    /// <summary>Annotation naming the group a pod was made a member of, so the role label can be
    /// taken off again when the pod stops matching the selector.</summary>
    public const string GroupAnnotation = "failover.dev/group";
    /// <summary>Label on the per-group Lease, so the operator watches only its own Leases.</summary>
    public const string LeaseGroupLabel = "failover.dev/group";
    /// <summary>Annotation on the per-group Lease: the record of the failover its last transfer committed (JSON).</summary>
    public const string LeaseFailoverAnnotation = "failover.dev/failover";
    /// <summary>Annotation on the per-group Lease with spec.activeCount above 1: every active pod, comma-separated, the holder first.
    /// Absent while the set has one pod (the holder is the set).</summary>
    public const string LeaseActivesAnnotation = "failover.dev/actives";
    /// <summary>Annotation on the per-group Lease while its holder is empty: who is being fenced, in which term (JSON).</summary>
    public const string LeaseFencingAnnotation = "failover.dev/fencing";
    /// <summary>Annotation on the group: a one-shot request to move the active role to this pod, or "any" for the best candidate.</summary>
    public const string SwitchoverAnnotation = "failover.dev/switchover-to";
    public const string AnyCandidate = "any";
    /// <summary>Annotation on a member: its preference as a candidate (an integer, higher first; default 0).</summary>
    public const string PriorityAnnotation = "failover.dev/priority";
    /// <summary>Annotation on a member: "false" excludes it from promotion (it stays a member, as a standby).</summary>
    public const string PromotableAnnotation = "failover.dev/promotable";
    /// <summary>Annotation a pod's agent writes after it stopped acting: the term it gave up.</summary>
    public const string DemotedTermAnnotation = "failover.dev/demoted-term";
}
