namespace FailoverOperator.Failover;

/// <summary>
/// Agent mode: between taking the Lease from the old active and promoting the new one, the
/// decision waits for proof that the old active stopped acting (docs/fencing.md): its agent's
/// acknowledgement for the term, its containers terminated, or its lease expired counted from
/// when this operator saw the Lease taken away. A deleted pod alone is no proof.
/// </summary>
public static partial class FailoverDecision
{
    /// <summary>How long write 1 leaves its status to the next reconcile (<see cref="FailoverPlan.StatusDeferredFor"/>):
    /// longer than an agent's acknowledgement takes on a busy node, short beside any lease.</summary>
    public static readonly TimeSpan FencingStatusDeferral = TimeSpan.FromMilliseconds(250);

    /// <summary>Write 1: the Lease loses its holder (the old agent can no longer renew) and records whom it fences.</summary>
    private static FailoverPlan StartFencing(GroupObservation o, string from, string reason, DateTimeOffset detectedAt, PodState candidate, string failure,
        string? to = null, string? requested = null)
    {
        var fencing = new FencingRecord
        {
            From = from, Term = o.Lease!.Transitions, Reason = reason, DetectedAt = detectedAt.UtcDateTime, Since = o.Now.UtcDateTime, To = to ?? candidate.Name,
            Requested = requested, Uid = o.Members.FirstOrDefault(p => p.Name == from)?.Uid, DurationSeconds = EffectiveLeaseSeconds(o),
        };
        var message = $"{failure}; its Lease is taken away and {candidate.Name} is promoted once {from} is proven stopped for term {fencing.Term}";
        return Plan(o, active: null, GroupPhase.FencingOldActive, new LeaseAction(LeaseActionKind.Fence, null, Fencing: fencing),
            available: (false, "FencingOldActive", message), failure: new ActiveFailure { Pod = from, Reason = reason, Since = detectedAt.UtcDateTime },
            requeueAfter: FencingStatusDeferral,
            events: [new PlannedEvent(reason is FailoverReasons.Switchover or FailoverReasons.NodeDrain ? EventTypes.Normal : EventTypes.Warning,
                EventReasons.FencingStarted, message, from)]) with { StatusDeferredFor = FencingStatusDeferral };
    }

    /// <summary>The Lease has no holder because <paramref name="fencing"/>.From is being fenced: promote once proven, else wait.</summary>
    private static FailoverPlan ContinueFencing(GroupObservation o, FencingRecord fencing)
    {
        var from = fencing.From ?? "";
        // An agent that released its Lease on a graceful stop writes when (since), not a detection of ours.
        var detectedAt = fencing.DetectedAt ?? fencing.Since ?? o.Now.UtcDateTime;
        var failure = new ActiveFailure { Pod = fencing.From, Reason = fencing.Reason, Since = detectedAt };
        var expiresAt = FencedLeaseExpiry(o, fencing);
        var proof = Proof(o.FencedPod, fencing.Term, expiresAt, o.Now);
        var requested = o.Members.FirstOrDefault(p => p.Name == fencing.To && p.IsCandidate);
        var candidate = requested ?? BestCandidate(o.Members, exclude: from, avoidNode: o.FencedPod?.Node) ?? BestCandidate(o.Members, exclude: null);
        var switchover = fencing.Reason == FailoverReasons.Switchover;

        if (proof is null)
        {
            var message = $"waiting for proof that {from} stopped acting in term {fencing.Term}: its agent's acknowledgement " +
                          $"({Roles.DemotedTermAnnotation}), its containers terminated, or its lease expiring at {expiresAt.UtcDateTime:O}" +
                          (candidate is null ? "" : $"; then {candidate.Name} is promoted");
            var waiting = Plan(o, active: null, GroupPhase.FencingOldActive, LeaseAction.None,
                available: (false, "FencingOldActive", message), failure: failure, requeueAfter: expiresAt - o.Now) with { SwitchoverUnderway = switchover };
            // Write 1's own echo (and the old active's relabelling) bring the group back at once: the status
            // still waits until the wait has lasted FencingStatusDeferral, so an acknowledgement is not held up by it.
            var waited = o.Now - (o.Lease?.SeenSince ?? o.Now);
            return waited < FencingStatusDeferral
                ? waiting with { StatusDeferredFor = FencingStatusDeferral - waited, RequeueAfter = FencingStatusDeferral - waited }
                : waiting;
        }
        if (candidate is null)
        {
            return Degraded(o, active: null, $"{from} stopped acting in term {fencing.Term} ({proof}) but no member is Ready; " +
                "the first one to become Ready will be made active", failure);
        }
        if (o.Spec.Paused)
        {
            return Plan(o, active: null, GroupPhase.Paused, LeaseAction.None,
                available: (false, "FailoverPaused", $"{from} is fenced ({proof}); automatic failover is paused (spec.paused)"), failure: failure);
        }

        var fenced = new PlannedEvent(EventTypes.Normal, EventReasons.Fenced, $"pod {from} stopped acting in term {fencing.Term}: {proof.Description}", from);
        return Promote(o, new FailoverRecord
        {
            From = from, To = candidate.Name, Reason = fencing.Reason, DetectedAt = detectedAt, Term = fencing.Term + 1, Proof = proof.Kind,
        }, before: [fenced], requested: fencing.Requested ?? fencing.To);
    }

    /// <summary>
    /// Proof (c): when the fenced holder's lease has run out on this operator's clock, counted from the
    /// fenced holder's last renewal in the fenced term as this process first saw it — no later renewal
    /// can have succeeded, or write 1 (made against the version that showed it) would have been refused —
    /// else from when this process first saw write 1 (a process that started later: it only waits longer).
    /// </summary>
    private static DateTimeOffset FencedLeaseExpiry(GroupObservation o, FencingRecord fencing)
    {
        var basis = o.Lease?.SeenSince ?? o.Now;
        if (o.Lease?.LastRenewal is { } renewal && renewal.Holder == fencing.From && renewal.Term == fencing.Term && renewal.SeenAt < basis)
        {
            basis = renewal.SeenAt;
        }
        return basis + TimeSpan.FromSeconds(Math.Max(fencing.DurationSeconds ?? 0, EffectiveLeaseSeconds(o)));
    }

    /// <summary>
    /// Agent mode, a Lease with no holder and no readable fencing record, or no Lease while the status
    /// names an active: someone may still hold a term the operator cannot name, so it is fenced like a
    /// failed active whose only proof can be the expiry.
    /// </summary>
    private static FencingRecord? UnknownHolderFencing(GroupObservation o)
    {
        if (o.Spec.Fencing != FencingModes.Agent) return null;
        var lastActive = o.Status?.ActivePod ?? o.Status?.ActiveFailure?.Pod;
        if (o.Lease is null && lastActive is null) return null;
        return new FencingRecord
        {
            From = o.Lease is null ? lastActive : null, Term = o.Lease?.Transitions ?? TermFloor(o), Reason = FailoverReasons.UnknownHolder,
            DetectedAt = o.Now.UtcDateTime, Since = o.Now.UtcDateTime, DurationSeconds = EffectiveLeaseSeconds(o),
        };
    }

    /// <summary>The Lease is gone while the status names an active: recreated without a holder, fencing that pod.</summary>
    private static FailoverPlan FenceMissingLease(GroupObservation o, FencingRecord fencing)
    {
        var message = $"the group's Lease is gone while {fencing.From} was active: it is recreated without a holder, and a pod is promoted once " +
                      $"{fencing.From} is proven stopped";
        return Plan(o, active: null, GroupPhase.FencingOldActive, new LeaseAction(LeaseActionKind.Fence, null, Fencing: fencing),
            available: (false, "FencingOldActive", message), failure: null, requeueAfter: LeaseDuration(o),
            events: [new PlannedEvent(EventTypes.Warning, EventReasons.FencingStarted, message)]);
    }

    /// <summary>Which proof, if any, shows the fenced pod stopped acting in <paramref name="term"/>. A pod
    /// that no longer exists proves nothing by itself: a force-deleted pod may still run on a cut-off node.</summary>
    public static FencingProof? Proof(PodState? fenced, int term, DateTimeOffset expiresAt, DateTimeOffset now) =>
        fenced?.DemotedTerm == term ? new(FencingProofs.Acknowledged, Acknowledged(term))
        : fenced?.Stopped == true ? new(FencingProofs.ContainersTerminated, "its containers have terminated")
        : now >= expiresAt ? new(FencingProofs.LeaseExpired, $"its lease expired at {expiresAt.UtcDateTime:O} (its agent demotes itself before then)")
        : null;

    private static string Acknowledged(int term) => $"its agent acknowledged giving up term {term}";

    /// <summary>
    /// The old active's agent handed the Lease over (write 1 named the pod to promote): its acknowledgement, written
    /// as the failover itself. The operator witnessed no proof, so the record's Event says which one it was.
    /// </summary>
    private static PlannedEvent? HandedOverEvent(FailoverRecord record) =>
        record is { Proof: FencingProofs.HandedOver, Term: { } term }
            ? new(EventTypes.Normal, EventReasons.Fenced,
                $"pod {record.From} stopped acting in term {term - 1}: {Acknowledged(term - 1)} and handed the Lease to {record.To}", record.From, term)
            : null;
}

/// <summary>A proof that the fenced pod stopped: its <see cref="FencingProofs"/> kind, and what an Event says of it.</summary>
public sealed record FencingProof(string Kind, string Description)
{
    public override string ToString() => Description;
}
