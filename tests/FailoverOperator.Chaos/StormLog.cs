using System.Collections.Concurrent;

namespace FailoverOperator.Chaos;

/// <summary>A failure the storm wrote to a group's active pod (At: just before the write).</summary>
public sealed record Trigger(DateTime At, string Group, string Pod, FailureKind Kind);

/// <summary>The leading replica killed (SIGKILL) or stopped (SIGTERM, graceful drain).</summary>
public sealed record LeaderKill(DateTime At, string Identity, bool Graceful);

/// <summary>kube-apiserver down and back: from the restart's start to /readyz answering again.</summary>
public sealed record ApiOutage(DateTime Start, DateTime End);

/// <summary>What a foreign write did: a pod's role label set active or standby, or the group Lease's holder
/// set to a standby member or to a stranger (the latter is a failure: the operator fails over).</summary>
public enum ForeignKind { LabelActive, LabelStandby, HolderToStandby, HolderToStranger }

/// <summary>
/// A write by "someone else" to a role label or a group Lease (Pod: the pod labelled, or the holder named).
/// Declared writes are told to the oracle, which then excuses the state they create (two active labels) for a
/// bounded time; an undeclared one (--inject) is not, so the oracle must report it.
/// </summary>
public sealed record ForeignWrite(DateTime At, string Group, string Pod, ForeignKind Kind, string ResourceVersion, bool Declared);

/// <summary>Everything the storm did, for the oracle and the latency split.</summary>
public sealed class StormLog
{
    public ConcurrentQueue<Trigger> Triggers { get; } = new();
    public ConcurrentQueue<LeaderKill> Kills { get; } = new();
    public ConcurrentQueue<ApiOutage> Outages { get; } = new();
    public ConcurrentQueue<ForeignWrite> ForeignWrites { get; } = new();
}
