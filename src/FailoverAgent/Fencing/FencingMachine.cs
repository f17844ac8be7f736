namespace FailoverAgent.Fencing;

public enum AgentRole { Standby, Active }

/// <summary>
/// The agent's decisions, pure: observed Lease + monotonic time + own state → actions. No I/O and
/// no clock of its own: every input carries "now" (a monotonic reading), so tests drive it with a
/// fake clock. Rules (docs/fencing.md, "Agent"):
/// - Promote only when the Lease names us in a term newer than any we acted in, and only after our
///   own renewal in that term succeeded (a stale event or reading cannot promote us).
/// - While active, renew every d/3; deadline = start of the last successful renewal + d − margin.
/// - Demote (then acknowledge) past the deadline, or on a reading in our term or later naming
///   another holder or none. Readings of an older term than the newest seen are stale: ignored.
/// - Never act again in a term we demoted from.
/// - Fenced in a term we were named in but never acted in: acknowledge it at once (nothing to stop).
/// - Fenced by the operator's write 1 (our pod, this very pod's UID, the term we give up) and the record
///   names the pod it chose: the acknowledgement first hands the Lease over to that pod (docs/fencing.md).
/// - On stop: demote if active, acknowledge, release the Lease if it names us.
/// - Every demotion carries StopBy = the deadline: the application must have stopped by then
///   (the wrapped command is killed then at the latest, whatever its grace). A demotion for lack of
///   renewal starts <paramref name="demotionLead"/> before the deadline, so a graceful stop fits
///   before it (but never before half the duration has passed since the renewal's start).
/// </summary>
/// <param name="demotionLead">How long a graceful stop takes (run mode: --grace); zero for hooks.</param>
public sealed class FencingMachine(string self, TimeSpan demotionLead = default)
{
    private LeaseSnapshot? lease;
    private long newestTermSeen = -1;
    private long highestTermActedIn = -1;
    private TimeSpan? lastRenewalStart;
    private TimeSpan nextRenewalAttempt;
    private bool renewalInFlight;
    private bool stopping;

    public AgentRole Role { get; private set; } = AgentRole.Standby;
    /// <summary>Our pod's UID, read at start: a fencing record names the very pod it fences (null: never hand over).</summary>
    public string? SelfUid { get; set; }
    /// <summary>The term we act in while active; the last term we acted in otherwise (-1: none).</summary>
    public long Term => highestTermActedIn;
    public LeaseSnapshot? Lease => lease;
    public TimeSpan? LastRenewalStart => lastRenewalStart;
    private TimeSpan Duration => lease?.Duration ?? LeaseSnapshot.DefaultDuration;

    /// <summary>When we must have stopped acting unless a renewal succeeds first (null while standby).</summary>
    public TimeSpan? Deadline => Role == AgentRole.Active && lastRenewalStart is { } start ? FencingTimings.Deadline(start, Duration) : null;

    /// <summary>When a demotion for lack of renewal begins: the deadline less the demotion lead.</summary>
    public TimeSpan? DemotionStart => Deadline is { } deadline ? deadline - Lead(Duration) : null;

    private TimeSpan Lead(TimeSpan duration) => FencingTimings.DemotionLead(demotionLead, duration);

    /// <summary>
    /// The term this pod last acknowledged (its demoted-term annotation), read at start: an agent
    /// that restarted must not act again in a term its predecessor gave up — the operator may
    /// already count that acknowledgement as proof.
    /// </summary>
    public void RememberAcknowledged(long term)
    {
        if (term > highestTermActedIn) highestTermActedIn = term;
    }

    public IReadOnlyList<FencingAction> OnLeaseObserved(LeaseSnapshot observed, TimeSpan now)
    {
        if (observed.Term < newestTermSeen) return [];   // stale: the term only grows
        newestTermSeen = observed.Term;
        lease = observed;
        if (stopping) return [];
        var actions = new List<FencingAction>();
        if (Role == AgentRole.Active && (!observed.Names(self) || observed.Term != highestTermActedIn))
        {
            var reason = observed.Names(self) ? RoleReasons.TermChanged : observed.LossReason;
            actions.AddRange(StopActing(reason, HandOverBasis(observed, highestTermActedIn)));
        }
        if (Role == AgentRole.Standby && string.IsNullOrEmpty(observed.Holder) && observed.FencedPod == self
            && observed.FencedTerm is { } fenced && fenced > highestTermActedIn)
        {
            // Fenced in a term we were named in but never acted in (our confirmation had not come back): that is
            // true to say at once, so the operator need not wait out the lease; and we never act in that term now.
            highestTermActedIn = fenced;
            actions.Add(new Acknowledge(fenced, HandOverBasis(observed, fenced)));
        }
        actions.AddRange(Role == AgentRole.Active ? Renew(now) : ConfirmIfCandidate(now));
        return actions;
    }

    /// <summary>The Lease is gone: whoever acts must stop (the operator recreates it).</summary>
    public IReadOnlyList<FencingAction> OnLeaseDeleted(TimeSpan now)
    {
        lease = null;
        return Role == AgentRole.Active && !stopping ? StopActing(RoleReasons.LeaseDeleted) : [];
    }

    /// <param name="written">The Lease as the server returned it after our write.</param>
    /// <param name="startedAt">When we sent the renewal: the deadline counts from here, never from the answer.</param>
    public IReadOnlyList<FencingAction> OnRenewalSucceeded(LeaseSnapshot written, TimeSpan startedAt, TimeSpan now)
    {
        renewalInFlight = false;
        if (written.Term < newestTermSeen || !written.Names(self)) return [];
        newestTermSeen = written.Term;
        lease = written;
        if (stopping) return [];
        if (Role == AgentRole.Active && written.Term == highestTermActedIn)
        {
            lastRenewalStart = startedAt;
            nextRenewalAttempt = startedAt + FencingTimings.RenewInterval(written.Duration);
            return [];
        }
        // A confirmation in a term we never acted in, still in time: now we may act.
        if (Role == AgentRole.Standby && written.Term > highestTermActedIn && now < FencingTimings.Deadline(startedAt, written.Duration) - Lead(written.Duration))
        {
            Role = AgentRole.Active;
            highestTermActedIn = written.Term;
            lastRenewalStart = startedAt;
            nextRenewalAttempt = startedAt + FencingTimings.RenewInterval(written.Duration);
            return [new Promote(written.Term, written.PromotionReason)];
        }
        // A late success after we demoted (or a confirmation that came too late): never act on it.
        return [];
    }

    /// <param name="conflict">409: the Lease changed since our reading; read it again at once.</param>
    public IReadOnlyList<FencingAction> OnRenewalFailed(bool conflict, TimeSpan now)
    {
        renewalInFlight = false;
        nextRenewalAttempt = now + FencingTimings.RetryInterval(Duration);
        var actions = new List<FencingAction>(Expired(now));
        if (conflict && !stopping) actions.Add(new RefreshLease());
        return actions;
    }

    /// <summary>Time passed: the deadline check and the renewal schedule.</summary>
    public IReadOnlyList<FencingAction> OnTick(TimeSpan now)
    {
        if (stopping) return [];
        var expired = Expired(now);
        if (expired.Count > 0) return expired;
        return Role == AgentRole.Active ? Renew(now) : ConfirmIfCandidate(now);
    }

    /// <summary>SIGTERM: stop acting at once, acknowledge, and hand the Lease back so the operator need not wait.</summary>
    public IReadOnlyList<FencingAction> OnStop(TimeSpan now)
    {
        if (stopping) return [];
        var actions = new List<FencingAction>(Expired(now));
        if (Role == AgentRole.Active) actions.AddRange(StopActing(RoleReasons.Stopped));
        stopping = true;
        if (lease is { } held && held.Names(self))
        {
            // Named in a term we never acted in (or acted in earlier): say so too, it is true.
            if (!actions.OfType<Acknowledge>().Any(a => a.Term == held.Term)) actions.Add(new Acknowledge(held.Term));
            actions.Add(new ReleaseLease(held));
        }
        return actions;
    }

    /// <summary>When the agent must run <see cref="OnTick"/> next at the latest.</summary>
    public TimeSpan NextWakeUp(TimeSpan now)
    {
        var next = now + TimeSpan.FromSeconds(1);
        if (DemotionStart is { } start && start < next) next = start;
        if ((Role == AgentRole.Active || IsCandidate) && !renewalInFlight && nextRenewalAttempt < next) next = nextRenewalAttempt;
        return next < now ? now : next;
    }

    private bool IsCandidate => Role == AgentRole.Standby && lease is { } l && l.Names(self) && l.Term > highestTermActedIn;

    private List<FencingAction> Expired(TimeSpan now) =>
        DemotionStart is { } start && now >= start ? StopActing(RoleReasons.DeadlinePassed) : [];

    private List<FencingAction> StopActing(string reason, LeaseSnapshot? handOver = null)
    {
        var stopBy = Deadline;
        Role = AgentRole.Standby;
        lastRenewalStart = null;
        nextRenewalAttempt = TimeSpan.Zero;   // a newer term naming us is confirmed at once, not on the old schedule
        return [new Demote(highestTermActedIn, reason, stopBy), new Acknowledge(highestTermActedIn, handOver)];
    }

    /// <summary>
    /// The operator's write 1 that we may hand over once we stopped acting in <paramref name="term"/>: it fences
    /// this very pod (UID) in that term and names another pod to promote. Handing it over is no more than our
    /// acknowledgement says (we stopped), written where the operator would write its consequence.
    /// </summary>
    private LeaseSnapshot? HandOverBasis(LeaseSnapshot observed, long term) =>
        string.IsNullOrEmpty(observed.Holder) && observed.Term == term && observed.FencedPod == self && observed.FencedTerm == term
        && SelfUid is not null && observed.FencedUid == SelfUid && !string.IsNullOrEmpty(observed.FencedTo) && observed.FencedTo != self
            ? observed
            : null;

    private List<FencingAction> ConfirmIfCandidate(TimeSpan now) => IsCandidate ? Renew(now) : [];

    /// <summary>A renewal when one is due and none is under way (active: every d/3; after a failure: every retry interval).</summary>
    private List<FencingAction> Renew(TimeSpan now)
    {
        if (renewalInFlight || now < nextRenewalAttempt || lease is null) return [];
        renewalInFlight = true;
        return [new RenewLease(lease)];
    }
}
