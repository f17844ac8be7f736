namespace FailoverOperator.Failover;

/// <summary>
/// A requested switchover (annotation failover.dev/switchover-to on the group): validated against the
/// observed group, carried out break-before-make like a failover (in Agent mode through the same
/// fencing wait, so the old active's agent demotes and acknowledges first), and answered in
/// status.lastSwitchover and an Event; the request is then removed. A failover always goes first.
/// </summary>
public static partial class FailoverDecision
{
    /// <summary>The active is healthy and a switchover is requested: refuse it with the reason, or carry it out.</summary>
    private static FailoverPlan Switchover(GroupObservation o, PodState holder, string request)
    {
        var asked = request.Trim();
        var target = asked == Roles.AnyCandidate
            ? BestCandidate(o.Members, exclude: holder.Name, avoidNode: holder.Node)
            : o.Members.FirstOrDefault(p => p.Name == asked);
        var refusal =
            o.Spec.Paused ? "the group is paused (spec.paused): resume it first"
            : asked == Roles.AnyCandidate && target is null ? $"no promotable standby is Ready{ExcludedReady(o, holder.Name)}"
            : target is null ? $"pod \"{asked}\" is not a member of the group: it must exist in this namespace and match spec.selector"
            : target.Name == holder.Name ? $"pod {asked} is already active"
            : !target.Promotable ? $"pod {asked} is excluded from promotion ({Roles.PromotableAnnotation}=false)"
            : !target.IsHealthy ? $"pod {asked} is not a healthy candidate ({Describe(target.UnhealthyReason!)})"
            : null;
        if (refusal is not null)
        {
            return RefuseSwitchover(o, KeepHealthyHolder(o, holder), request, holder.Name, refusal);
        }

        if (o.Spec.Fencing == FencingModes.Agent)
        {
            var fencing = StartFencing(o, holder.Name, FailoverReasons.Switchover, o.Now, target!,
                $"switchover from {holder.Name} to {target!.Name} requested", to: target.Name, requested: asked);
            return fencing with { SwitchoverUnderway = true };
        }
        return Promote(o, new FailoverRecord
        {
            From = holder.Name, To = target!.Name, Reason = FailoverReasons.Switchover, DetectedAt = o.Now.UtcDateTime, Term = o.Lease!.Transitions + 1,
        });
    }

    /// <summary>A request this plan does not carry out: refused, saying why, unless a switchover is already underway.</summary>
    private static FailoverPlan AnswerUnhandledRequest(GroupObservation o, FailoverPlan plan)
    {
        if (o.SwitchoverRequest is not { } request || plan.HandledSwitchover is not null || plan.SwitchoverUnderway) return plan;
        var reason = plan.Failover is not null || plan.Status.Phase is GroupPhase.FencingOldActive or GroupPhase.FailingOver or GroupPhase.Degraded
            ? "the active failed: the failover goes first; ask again once the group is Healthy"
            : plan.Status.Phase == GroupPhase.Paused ? "the group is paused (spec.paused): resume it first"
            : "the group has no healthy active to switch over from";
        return RefuseSwitchover(o, plan, request, plan.Status.ActivePod ?? o.Lease?.Holder, reason);
    }

    private static FailoverPlan RefuseSwitchover(GroupObservation o, FailoverPlan plan, string request, string? from, string reason)
    {
        var message = $"switchover to {request.Trim()} refused: {reason}";
        plan.Status.LastSwitchover = new SwitchoverRecord
        {
            RequestedAt = o.Now.UtcDateTime, From = from, To = request.Trim(), Result = SwitchoverResults.Refused, Message = message,
        };
        return plan with
        {
            HandledSwitchover = request,
            Events = [.. plan.Events, new PlannedEvent(EventTypes.Warning, EventReasons.SwitchoverRefused, message)],
        };
    }

    /// <summary>The status record of a switchover the plan completes; duration and term are the failover record's.</summary>
    private static SwitchoverRecord Completed(FailoverRecord record, string? requested)
    {
        var asked = requested?.Trim() is null or Roles.AnyCandidate || requested.Trim() == record.To;
        return new SwitchoverRecord
        {
            RequestedAt = record.DetectedAt, From = record.From, To = record.To, Term = record.Term,
            Result = asked ? SwitchoverResults.Succeeded : SwitchoverResults.Failed,
            Message = asked
                ? $"switched over from {record.From} to {record.To}"
                : $"{requested} was no longer a candidate once {record.From} stopped; {record.To} was promoted instead",
        };
    }
}
