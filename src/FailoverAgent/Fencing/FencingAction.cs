namespace FailoverAgent.Fencing;

/// <summary>What the fencing state machine asks the agent to do. Executed in the order given.</summary>
public abstract record FencingAction;

/// <summary>Write the Lease back with a new renewTime, carrying Basis.ResourceVersion (optimistic concurrency).</summary>
public sealed record RenewLease(LeaseSnapshot Basis) : FencingAction;

/// <summary>Read the Lease now (a renewal was refused with 409: someone wrote it after our reading).</summary>
public sealed record RefreshLease : FencingAction;

/// <summary>Start acting: promote hook / start the wrapped process.</summary>
public sealed record Promote(long Term, string Reason) : FencingAction;

/// <summary>
/// Stop acting: demote hook / stop the wrapped process. Always followed by <see cref="Acknowledge"/>.
/// StopBy (monotonic): the deadline of the term given up; past it this pod must not act at all.
/// </summary>
public sealed record Demote(long Term, string Reason, TimeSpan? StopBy = null) : FencingAction;

/// <summary>
/// Annotate our pod failover.dev/demoted-term=Term, once the demotion before it finished. With
/// <paramref name="HandOver"/> (the operator's write 1, fencing us in Term and naming the pod it chose),
/// first write that Lease to the chosen pod in term Term+1: the acknowledgement that is also the failover.
/// </summary>
public sealed record Acknowledge(long Term, LeaseSnapshot? HandOver = null) : FencingAction;

/// <summary>Write the Lease to no holder with a fencing record naming us (graceful stop).</summary>
public sealed record ReleaseLease(LeaseSnapshot Basis) : FencingAction;
