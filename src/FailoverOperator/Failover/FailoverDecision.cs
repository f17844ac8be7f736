using FailoverOperator.Runtime;

namespace FailoverOperator.Failover;

/// <summary>
/// The failover decision: a pure function of the observed group, pods, Lease and clock. It never
/// talks to the API server, so every rule is unit-tested directly. The plan it returns is carried
/// out in order by <see cref="PlanExecutor"/>; its shapes are in FailoverDecision.Plan.cs, the
/// Agent-mode fencing wait in FailoverDecision.Fencing.cs.
/// </summary>
public static partial class FailoverDecision
{
    public static FailoverPlan Decide(GroupObservation o) =>
        SpecValidation.Problems(o.Spec) is { Count: > 0 } problems
            ? Refuse(o, problems)
            : AnswerUnhandledRequest(o, RecordEarlierFailover(o, TrackDrain(o, DecidesActiveSet(o) ? DecideActiveSet(o) : DecideRoles(o))));

    private static FailoverPlan DecideRoles(GroupObservation o)
    {
        var holderName = string.IsNullOrEmpty(o.Lease?.Holder) ? null : o.Lease!.Holder;
        if (holderName is null)
        {
            return o.Lease?.Fencing is { } fencing ? ContinueFencing(o, fencing)
                : UnknownHolderFencing(o) is { } unknown ? (o.Lease is null ? FenceMissingLease(o, unknown) : ContinueFencing(o, unknown))
                : Elect(o);
        }

        var holder = o.Members.FirstOrDefault(p => p.Name == holderName);
        var unhealthyReason = holder is null
            ? (o.FormerMembers.Contains(holderName) ? FailoverReasons.NoLongerMember : FailoverReasons.Deleted)
            : holder.UnhealthyReason ?? (RenewalOverdue(o) ? FailoverReasons.LeaseExpired : null);

        if (unhealthyReason is null)
        {
            return o.SwitchoverRequest is { } request && !AlreadyCarriedOut(o, holder!, request)
                ? Switchover(o, holder!, request)
                : (DrainMove(o, holder!) ?? KeepHealthyHolder(o, holder!)) with { HandledSwitchover = o.SwitchoverRequest };
        }

        var since = o.ActiveUnhealthySince ?? o.Now;
        var activeFailure = new ActiveFailure { Pod = holderName, Reason = unhealthyReason, Since = since.UtcDateTime, ReadyTransition = holder?.ReadyTransition };
        var candidate = BestCandidate(o.Members, exclude: holderName, avoidNode: holder?.Node);
        var failure = $"active pod {holderName} is unhealthy ({Describe(unhealthyReason)})";

        if (o.Spec.Paused)
        {
            return Plan(o, active: holder?.Name, GroupPhase.Paused, LeaseAction.None,
                available: (false, "FailoverPaused", $"{failure}; automatic failover is paused (spec.paused)"),
                failure: activeFailure);
        }

        if (candidate is null)
        {
            var message = $"{failure} and no standby is Ready{ExcludedReady(o, holderName)}; " +
                (holder is null ? "nothing can be promoted until a member becomes Ready"
                                : $"{holderName} keeps the active role until a standby becomes Ready");
            return Degraded(o, active: holder?.Name, message, activeFailure);
        }

        var delay = TimeSpan.FromSeconds(o.Spec.FailoverDelaySeconds);
        if (o.Now - since < delay)
        {
            var remaining = since + delay - o.Now;
            return Plan(o, active: holder?.Name, GroupPhase.FailingOver, LeaseAction.None,
                available: (false, "FailoverDelayed",
                    $"{failure}; {candidate.Name} takes over in {remaining.TotalSeconds:0.#}s unless it recovers (spec.failoverDelaySeconds={o.Spec.FailoverDelaySeconds})"),
                failure: activeFailure, requeueAfter: remaining);
        }

        if (o.Spec.Fencing == FencingModes.Agent)
        {
            return StartFencing(o, holderName, unhealthyReason, since, candidate, failure);
        }
        return Promote(o, new FailoverRecord
        {
            From = holderName, To = candidate.Name, Reason = unhealthyReason, DetectedAt = since.UtcDateTime, Term = o.Lease!.Transitions + 1,
        });
    }

    /// <summary>
    /// Moves the Lease to the new active, carrying the failover's record in the same write, so
    /// whichever leader reconciles next can finish recording it if this one dies before the status.
    /// </summary>
    /// <param name="requested">For a switchover, the pod that was asked for (which may no longer be the one promoted).</param>
    private static FailoverPlan Promote(GroupObservation o, FailoverRecord record, IReadOnlyList<PlannedEvent>? before = null, string? requested = null) =>
        Recorded(o, record, requested, Plan(o, active: record.To, GroupPhase.Healthy, new LeaseAction(LeaseActionKind.Transfer, record.To, record),
            available: ActiveReady(record.To!), failure: null, failover: record, events: [.. before ?? [], .. FailoverEvents(record)],
            requeueAfter: RenewalCheck(o, renewedNow: true)));

    /// <summary>A plan that records a switchover also answers the request: status.lastSwitchover, and the annotation removed.</summary>
    private static FailoverPlan Recorded(GroupObservation o, FailoverRecord? record, string? requested, FailoverPlan plan)
    {
        if (record?.Reason != FailoverReasons.Switchover) return plan;
        plan.Status.LastSwitchover = Completed(record, requested ?? o.SwitchoverRequest);
        return plan with { HandledSwitchover = o.SwitchoverRequest };
    }

    /// <summary>No Lease holder yet: keep a Ready pod that already carries the active role, else the one Ready the longest.</summary>
    private static FailoverPlan Elect(GroupObservation o)
    {
        var adopted = BestCandidate(o.Members.Where(p => p.Role == Roles.Active), exclude: null);
        var chosen = adopted ?? (o.Spec.Paused ? null : BestCandidate(o.Members, exclude: null));
        var paused = o.Spec.Paused;
        if (chosen is null)
        {
            var (reason, message) = o.Members.Count == 0 && o.ClaimedByOthers.Count > 0
                ? ("MembersClaimedByAnotherGroup", ClaimedMessage(o))
                : o.Members.Count == 0
                ? ("NoMembers", $"no pod in this namespace matches spec.selector ({LabelSelectorMatcher.Describe(o.Spec.Selector)})")
                : paused ? ("FailoverPaused", "no pod carries the active role and election is paused (spec.paused)")
                : ("NoReadyMember", "no member pod is Running and Ready; the first one to become Ready will be made active");
            return Plan(o, active: null, paused ? GroupPhase.Paused : GroupPhase.Pending, LeaseAction.None,
                available: (false, reason, message), failure: null);
        }

        var how = adopted is not null
            ? $"adopted: it already carried {o.Spec.RoleLabelKey}={Roles.Active}"
            : "elected: the best candidate (priority, then Ready the longest)";
        return Plan(o, active: chosen.Name, paused ? GroupPhase.Paused : GroupPhase.Healthy,
            new LeaseAction(o.Lease is null ? LeaseActionKind.Create : LeaseActionKind.Transfer, chosen.Name) { Term = o.Lease is null ? TermFloor(o) : null },
            available: ActiveReady(chosen.Name), failure: null, requeueAfter: RenewalCheck(o, renewedNow: true),
            events: [new PlannedEvent(EventTypes.Normal, EventReasons.Promoted, $"pod {chosen.Name} is now active ({how})", chosen.Name)]);
    }

    /// <summary>
    /// A healthy active: nothing to write. In Label mode nobody renews the Lease (it is the record
    /// and commit point only); in Agent mode the active's agent renews it, and the decision asks to
    /// look again when that renewal would be overdue.
    /// </summary>
    private static FailoverPlan KeepHealthyHolder(GroupObservation o, PodState holder) =>
        Plan(o, active: holder.Name, o.Spec.Paused ? GroupPhase.Paused : GroupPhase.Healthy, LeaseAction.None,
            available: ActiveReady(holder.Name), failure: null, requeueAfter: RenewalCheck(o, renewedNow: false));

    /// <summary>Agent mode: the holder's agent has not renewed the Lease for its whole duration, as seen from here.</summary>
    private static bool RenewalOverdue(GroupObservation o) =>
        o.Spec.Fencing == FencingModes.Agent && o.Now - (o.Lease?.SeenSince ?? o.Now) >= LeaseDuration(o);

    /// <summary>
    /// The Lease's own duration if longer than the spec's: an agent renewing under the Lease's value
    /// demotes itself only after that long, so a shortened spec must not shorten the wait before it did.
    /// </summary>
    private static int EffectiveLeaseSeconds(GroupObservation o) => Math.Max(o.Spec.LeaseDurationSeconds, o.Lease?.DurationSeconds ?? 0);

    /// <summary>The lowest term a new Lease may start in: never below one the group has already recorded.</summary>
    private static int TermFloor(GroupObservation o) =>
        new[] { o.Status?.FailoverCount ?? 0, o.Status?.LastFailover?.Term ?? 0, o.Status?.LastSwitchover?.Term ?? 0 }.Max();

    /// <summary>When to look at an Agent-mode group again if nothing changes: when its renewal would be overdue.</summary>
    private static TimeSpan? RenewalCheck(GroupObservation o, bool renewedNow)
    {
        if (o.Spec.Fencing != FencingModes.Agent) return null;
        var seen = renewedNow ? o.Now : o.Lease?.SeenSince ?? o.Now;
        return seen + LeaseDuration(o) - o.Now;
    }

    private static TimeSpan LeaseDuration(GroupObservation o) => TimeSpan.FromSeconds(EffectiveLeaseSeconds(o));

    /// <summary>A failover committed to the Lease (its record there) but not yet in the status: a reconcile
    /// died between the two. Recorded now, once: the status then carries its term.</summary>
    private static FailoverRecord? UnrecordedFailover(GroupObservation o) =>
        o.Lease?.Failover is { Term: { } term } pending && term > Math.Max(o.Status?.LastFailover?.Term ?? 0, o.Status?.LastSwitchover?.Term ?? 0)
            ? pending
            : null;

    /// <summary>
    /// Whatever else the plan does, a failover the Lease committed and no status recorded is recorded
    /// now: in the status when the plan records none of its own, else by its Events and metric.
    /// </summary>
    private static FailoverPlan RecordEarlierFailover(GroupObservation o, FailoverPlan plan)
    {
        if (UnrecordedFailover(o) is not { } earlier || plan.Failover?.Term == earlier.Term) return plan;
        if (plan.Failover is not null || plan.Status.Phase == GroupPhase.Invalid)
        {
            return plan with { EarlierFailover = earlier, Events = [.. FailoverEvents(earlier), .. plan.Events] };
        }
        if (earlier.Reason == FailoverReasons.Switchover) plan.Status.LastSwitchover = Completed(earlier, o.SwitchoverRequest);
        else plan.Status.LastFailover = earlier;
        return plan with { Failover = earlier, Events = [.. FailoverEvents(earlier), .. plan.Events] };
    }

    /// <summary>The request is already carried out: the Lease's last transfer was that switchover (a crash
    /// came before the request was removed). It is answered, not carried out twice.</summary>
    private static bool AlreadyCarriedOut(GroupObservation o, PodState holder, string request) =>
        o.Lease?.Failover is { Reason: FailoverReasons.Switchover } last && last.To == holder.Name
        && (request.Trim() == Roles.AnyCandidate || request.Trim() == holder.Name)
        && last.Term >= Math.Max(o.Status?.LastFailover?.Term ?? 0, o.Status?.LastSwitchover?.Term ?? 0);

    /// <summary>
    /// The pod to promote among the healthy, promotable ones: not on <paramref name="avoidNode"/> (the
    /// failed active's node, which may be what failed), then the highest failover.dev/priority, then
    /// Ready the longest (earliest Ready transition), then by name.
    /// </summary>
    public static PodState? BestCandidate(IEnumerable<PodState> pods, string? exclude, string? avoidNode = null) =>
        pods.Where(p => p.IsCandidate && p.Name != exclude)
            .OrderBy(p => avoidNode is not null && p.Node == avoidNode)
            .ThenByDescending(p => p.Priority)
            .ThenBy(p => p.ReadySince ?? DateTimeOffset.MaxValue)
            .ThenBy(p => p.Name, StringComparer.Ordinal)
            .FirstOrDefault();
}
