namespace FailoverAgent.Fencing;

/// <summary>
/// What the agent needs from one reading of the group's Lease. Term is spec.leaseTransitions (the
/// fencing token); ResourceVersion is what a renewal or release must carry to be refused (409) if
/// anyone wrote the Lease after this reading.
/// </summary>
public sealed record LeaseSnapshot(
    string? Holder,
    long Term,
    TimeSpan Duration,
    string ResourceVersion,
    string? FailoverReason = null,
    long? FailoverTerm = null,
    string? FencingReason = null)
{
    /// <summary>The Lease as read, kept opaque here: a renewal or release writes it back changed.</summary>
    public object? Source { get; init; }

    /// <summary>The fencing record's pod and term: whom the operator took this Lease from, in which term.</summary>
    public string? FencedPod { get; init; }
    public long? FencedTerm { get; init; }
    /// <summary>The fenced pod's UID (the very pod, not one recreated under its name) and the pod the operator chose to promote.</summary>
    public string? FencedUid { get; init; }
    public string? FencedTo { get; init; }

    /// <summary>Used when the Lease states no leaseDurationSeconds (the operator always writes one).</summary>
    public static readonly TimeSpan DefaultDuration = TimeSpan.FromSeconds(15);

    public bool Names(string pod) => Holder == pod;

    /// <summary>Why this Lease names its holder: the failover record when it belongs to this term.</summary>
    public string PromotionReason => FailoverTerm == Term && !string.IsNullOrEmpty(FailoverReason) ? FailoverReason : "Assigned";

    /// <summary>Why a pod that held an earlier term lost it, as far as this Lease tells.</summary>
    public string LossReason =>
        string.IsNullOrEmpty(Holder) ? (string.IsNullOrEmpty(FencingReason) ? "Fenced" : FencingReason)
        : FailoverTerm == Term && !string.IsNullOrEmpty(FailoverReason) ? FailoverReason : "HolderChanged";
}

/// <summary>Why a role changed, as hooks see it, and whether the change was planned.</summary>
public static class RoleReasons
{
    public const string Stopped = "Stopped";
    public const string DeadlinePassed = "RenewalDeadlinePassed";
    public const string LeaseDeleted = "LeaseDeleted";
    public const string TermChanged = "TermChanged";
    public const string ProcessExited = "ProcessExited";

    // Reasons that are someone's decision, not a failure: switchover, node drain, a graceful stop
    // of the pod (ours: Stopped; the operator's: Terminating, a pod being deleted).
    private static readonly HashSet<string> Planned = new(StringComparer.Ordinal) { "Switchover", "NodeDrain", Stopped, "Terminating" };

    public static bool IsPlanned(string reason) => Planned.Contains(reason);
}
