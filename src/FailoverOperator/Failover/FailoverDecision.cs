using FailoverOperator.Runtime;
using k8s.Models;

namespace FailoverOperator.Failover;

/// <summary>
/// The failover decision: a pure function of the observed group, pods, Lease and clock. It never
/// talks to the API server, so every rule is unit-tested directly.
/// </summary>
public static class FailoverDecision
{
    public static FailoverPlan Decide(GroupObservation o)
    {
        if (SpecValidation.Problems(o.Spec) is { Count: > 0 } problems)
        {
            return Refuse(o, problems);
        }

        var holderName = string.IsNullOrEmpty(o.Lease?.Holder) ? null : o.Lease!.Holder;
        var holder = holderName is null ? null : o.Members.FirstOrDefault(p => p.Name == holderName);

        if (holderName is null)
        {
            return Elect(o);
        }

        var unhealthyReason = holder is null
            ? (o.FormerMembers.Contains(holderName) ? FailoverReasons.NoLongerMember : FailoverReasons.Deleted)
            : holder.UnhealthyReason;

        if (unhealthyReason is null)
        {
            return KeepHealthyHolder(o, holder!);
        }

        var since = o.ActiveUnhealthySince ?? o.Now;
        var activeFailure = new ActiveFailure { Pod = holderName, Reason = unhealthyReason, Since = since.UtcDateTime };
        var candidate = BestCandidate(o.Members, exclude: holderName);
        var failure = $"active pod {holderName} is unhealthy ({Describe(unhealthyReason)})";

        if (o.Spec.Paused)
        {
            return Plan(o, active: holder?.Name, GroupPhase.Paused, LeaseAction.None,
                available: (false, "FailoverPaused", $"{failure}; automatic failover is paused (spec.paused)"),
                failure: activeFailure);
        }

        if (candidate is null)
        {
            var message = $"{failure} and no standby is Ready; " +
                (holder is null ? "nothing can be promoted until a member becomes Ready"
                                : $"{holderName} keeps the active role until a standby becomes Ready");
            var events = o.Status?.Phase == GroupPhase.Degraded
                ? []
                : new[] { new PlannedEvent(EventTypes.Warning, EventReasons.NoStandbyAvailable, message) };
            return Plan(o, active: holder?.Name, GroupPhase.Degraded, LeaseAction.None,
                available: (false, "NoStandbyAvailable", message), failure: activeFailure, events: events);
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

        // The record travels in the Lease write that commits the failover, so whichever leader
        // reconciles next can finish recording it if this one dies before the status write.
        var record = new FailoverRecord
        {
            From = holderName, To = candidate.Name, Reason = unhealthyReason, DetectedAt = since.UtcDateTime, Term = o.Lease!.Transitions + 1,
        };
        return Plan(o, active: candidate.Name, GroupPhase.Healthy, new LeaseAction(LeaseActionKind.Transfer, candidate.Name, record),
            available: ActiveReady(candidate.Name), failure: null, failover: record, events: FailoverEvents(record));
    }

    /// <summary>A failover's Events, planned by the reconcile that records it.</summary>
    private static PlannedEvent[] FailoverEvents(FailoverRecord record) =>
    [
        new(EventTypes.Warning, EventReasons.FailoverStarted,
            $"active pod {record.From} is unhealthy ({Describe(record.Reason ?? "")}); failing over from {record.From} to {record.To}", record.From),
        new(EventTypes.Normal, EventReasons.Promoted,
            $"pod {record.To} is now active, replacing {record.From} (reason: {record.Reason})", record.To),
    ];

    /// <summary>A failover committed to the Lease (its record there) but not yet in the status: a reconcile
    /// died between the two. Recorded now, once: the status then carries its term.</summary>
    private static FailoverRecord? UnrecordedFailover(GroupObservation o, PodState holder) =>
        o.Lease?.Failover is { Term: { } term } pending && pending.To == holder.Name && term > (o.Status?.LastFailover?.Term ?? 0)
            ? pending
            : null;

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
            : "elected: the member Ready the longest";
        return Plan(o, active: chosen.Name, paused ? GroupPhase.Paused : GroupPhase.Healthy,
            new LeaseAction(o.Lease is null ? LeaseActionKind.Create : LeaseActionKind.Transfer, chosen.Name),
            available: ActiveReady(chosen.Name), failure: null,
            events: [new PlannedEvent(EventTypes.Normal, EventReasons.Promoted, $"pod {chosen.Name} is now active ({how})", chosen.Name)]);
    }

    private static string ClaimedMessage(GroupObservation o) =>
        "every pod that matches spec.selector already belongs to another group: " +
        string.Join(", ", o.ClaimedByOthers.OrderBy(c => c.Pod, StringComparer.Ordinal).Select(c => $"{c.Pod} (group {c.Group})")) +
        $"; a pod is a member of one group at a time (annotation {Roles.GroupAnnotation}): change one group's selector, or delete the other group";

    /// <summary>A spec the operator must not act on: nothing is written but the status that says why.</summary>
    private static FailoverPlan Refuse(GroupObservation o, IReadOnlyList<string> problems)
    {
        var message = $"spec is invalid, nothing is changed until it is fixed: {string.Join("; ", problems)}";
        var known = o.Status?.Conditions?.Any(c => c.Type == ConditionTypes.InvalidSpec && c.Status == "True" && c.Message == message) == true;
        var plan = Plan(o, active: o.Status?.ActivePod, GroupPhase.Invalid, LeaseAction.None,
            available: (false, ConditionTypes.InvalidSpec, message), failure: null,
            events: known ? [] : [new PlannedEvent(EventTypes.Warning, EventReasons.InvalidSpec, message)]);
        return plan with { RoleChanges = [] };
    }

    private static FailoverPlan KeepHealthyHolder(GroupObservation o, PodState holder)
    {
        var interval = RenewInterval(o.Spec);
        var renewedAt = o.Lease!.RenewTime;
        var renewDue = renewedAt is null || o.Now - renewedAt.Value >= interval;
        var requeue = renewDue ? interval : renewedAt!.Value + interval - o.Now;
        var unrecorded = UnrecordedFailover(o, holder);
        return Plan(o, active: holder.Name, o.Spec.Paused ? GroupPhase.Paused : GroupPhase.Healthy,
            renewDue ? new LeaseAction(LeaseActionKind.Renew, holder.Name) : LeaseAction.None,
            available: ActiveReady(holder.Name), failure: null, requeueAfter: requeue,
            failover: unrecorded, events: unrecorded is null ? null : FailoverEvents(unrecorded));
    }

    /// <summary>The Lease is renewed at half its duration (never more often than every duration/3, never under 1 s).</summary>
    public static TimeSpan RenewInterval(HighAvailabilityGroupSpec spec) =>
        TimeSpan.FromSeconds(Math.Max(1.0, spec.LeaseDurationSeconds / 2.0));

    /// <summary>The eligible pod Ready the longest (earliest Ready transition), ties broken by name.</summary>
    public static PodState? BestCandidate(IEnumerable<PodState> pods, string? exclude) =>
        pods.Where(p => p.IsHealthy && p.Name != exclude)
            .OrderBy(p => p.ReadySince ?? DateTimeOffset.MaxValue)
            .ThenBy(p => p.Name, StringComparer.Ordinal)
            .FirstOrDefault();

    private static (bool, string, string) ActiveReady(string pod) => (true, "ActiveReady", $"pod {pod} is active and Ready");

    private static FailoverPlan Plan(
        GroupObservation o,
        string? active,
        string phase,
        LeaseAction lease,
        (bool Status, string Reason, string Message) available,
        ActiveFailure? failure,
        TimeSpan? requeueAfter = null,
        FailoverRecord? failover = null,
        IReadOnlyList<PlannedEvent>? events = null)
    {
        var readyStandbys = o.Members.Count(p => p.IsHealthy && p.Name != active);
        var status = new HighAvailabilityGroupStatus
        {
            ActivePod = active,
            Phase = phase,
            ReadyStandbys = readyStandbys,
            // Derived from the Lease, which counts every change of holder, so it can never drift.
            FailoverCount = (o.Lease?.Transitions ?? 0) + (lease.Kind == LeaseActionKind.Transfer && !string.IsNullOrEmpty(o.Lease?.Holder) ? 1 : 0),
            LastFailover = failover ?? o.Status?.LastFailover,
            ActiveFailure = failure,
            ObservedGeneration = o.Generation,
        };
        var degraded = !available.Status
            ? (true, available.Reason, available.Message)
            : readyStandbys == 0
                ? (true, "NoReadyStandby", $"no standby is Ready: if {active} fails there is nothing to fail over to")
                : (false, "StandbysReady", $"{readyStandbys} standby pod(s) Ready to take over");
        status.Conditions =
        [
            Condition(o, ConditionTypes.Available, available.Status, available.Reason, available.Message),
            Condition(o, ConditionTypes.Degraded, degraded.Item1, degraded.Item2, degraded.Item3),
        ];
        if (phase == GroupPhase.Invalid)
        {
            status.Conditions.Add(Condition(o, ConditionTypes.InvalidSpec, true, ConditionTypes.InvalidSpec, available.Message));
        }
        return new FailoverPlan(lease, RoleChanges(o, active), status, events ?? [], requeueAfter, failover);
    }

    /// <summary>Role labels converge on the chosen active; demotions are ordered before the single promotion.</summary>
    private static IReadOnlyList<RoleChange> RoleChanges(GroupObservation o, string? active)
    {
        var changes = new List<RoleChange>();
        foreach (var former in o.FormerMembers.Order(StringComparer.Ordinal))
        {
            changes.Add(new RoleChange(former, null));
        }
        RoleChange? promotion = null;
        foreach (var pod in o.Members.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            var desired = pod.Name == active ? Roles.Active : Roles.Standby;
            if (pod.Role == desired && pod.Annotated) continue;
            if (desired == Roles.Active) promotion = new RoleChange(pod.Name, desired);
            else changes.Add(new RoleChange(pod.Name, desired));
        }
        if (promotion is not null) changes.Add(promotion);
        return changes;
    }

    private static V1Condition Condition(GroupObservation o, string type, bool isTrue, string reason, string message)
    {
        var status = isTrue ? "True" : "False";
        var previous = o.Status?.Conditions?.FirstOrDefault(c => c.Type == type);
        var since = previous is not null && previous.Status == status ? previous.LastTransitionTime : o.Now.UtcDateTime;
        return new V1Condition
        {
            Type = type,
            Status = status,
            Reason = reason,
            Message = message,
            LastTransitionTime = since,
            ObservedGeneration = o.Generation,
        };
    }

    private static string Describe(string reason) => reason switch
    {
        FailoverReasons.Deleted => "the pod no longer exists",
        FailoverReasons.NoLongerMember => "it no longer matches spec.selector",
        FailoverReasons.Terminating => "it is terminating",
        FailoverReasons.PodFailed => "phase Failed",
        FailoverReasons.PodSucceeded => "phase Succeeded",
        FailoverReasons.NotRunning => "not Running",
        FailoverReasons.NotReady => "Ready is not True",
        _ => reason,
    };
}
