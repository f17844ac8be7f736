using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace FailoverOperator.Failover;

/// <summary>The HighAvailabilityGroup custom resource (failover.dev/v1alpha1).</summary>
[KubernetesEntity(Group = Group, ApiVersion = Version, Kind = KindName, PluralName = Plural)]
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
    [JsonPropertyName("spec")] public HighAvailabilityGroupSpec Spec { get; set; } = new();
    [JsonPropertyName("status")] public HighAvailabilityGroupStatus? Status { get; set; }
}

public sealed class HighAvailabilityGroupSpec
{
    public const string DefaultRoleLabelKey = "failover.dev/role";

    /// <summary>Which pods of the group's namespace are members.</summary>
    [JsonPropertyName("selector")] public V1LabelSelector? Selector { get; set; }

    /// <summary>The label the operator writes: "active" on the active pod, "standby" on the others.</summary>
    [JsonPropertyName("roleLabelKey")] public string RoleLabelKey { get; set; } = DefaultRoleLabelKey;

    [JsonPropertyName("leaseDurationSeconds")] public int LeaseDurationSeconds { get; set; } = 15;

    /// <summary>How long the active must be unhealthy, continuously, before a standby takes over.</summary>
    [JsonPropertyName("failoverDelaySeconds")] public int FailoverDelaySeconds { get; set; }

    /// <summary>No automatic failover while set; labels and status are still maintained.</summary>
    [JsonPropertyName("paused")] public bool Paused { get; set; }
}

public sealed class HighAvailabilityGroupStatus
{
    // Written even when null: the status is sent as a merge patch, where an absent field keeps the old
    // value and only null removes it (a group that lost its active must not keep naming it).
    [JsonPropertyName("activePod"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public string? ActivePod { get; set; }
    [JsonPropertyName("phase")] public string? Phase { get; set; }
    [JsonPropertyName("readyStandbys")] public int ReadyStandbys { get; set; }
    [JsonPropertyName("failoverCount")] public int FailoverCount { get; set; }
    [JsonPropertyName("lastFailover")] public FailoverRecord? LastFailover { get; set; }
    // Written even when null, like activePod: a recovered active must clear it.
    [JsonPropertyName("activeFailure"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] public ActiveFailure? ActiveFailure { get; set; }
    [JsonPropertyName("observedGeneration")] public long? ObservedGeneration { get; set; }
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
    /// <summary>The Lease's leaseTransitions after this failover: the term the new active serves in.</summary>
    [JsonPropertyName("term")] public int? Term { get; init; }
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
    public static readonly string[] All = [Pending, Healthy, Degraded, FailingOver, Paused, Invalid];
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
}
