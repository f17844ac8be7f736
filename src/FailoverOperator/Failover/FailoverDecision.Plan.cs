using k8s.Models;

namespace FailoverOperator.Failover;

/// <summary>The shapes of a plan: status, conditions, role changes and Events, for every branch of the decision.</summary>
public static partial class FailoverDecision
{
    /// <summary>A failover's Events, planned by the reconcile that records it.</summary>
    private static PlannedEvent[] FailoverEvents(FailoverRecord record) =>
        HandedOverEvent(record) is { } handedOver ? [handedOver, .. ReasonEvents(record)] : ReasonEvents(record);

    private static PlannedEvent[] ReasonEvents(FailoverRecord record) => record.Reason == FailoverReasons.NodeDrain
    ? [
        new(EventTypes.Normal, EventReasons.NodeDrain,
            $"the node of active pod {record.From} is being drained: switched over from {record.From} to {record.To} ahead of the eviction (term {record.Term})", record.From, record.Term),
        new(EventTypes.Normal, EventReasons.Promoted, $"pod {record.To} is now active, replacing {record.From} (reason: NodeDrain, term {record.Term})", record.To, record.Term),
    ]
    : record.Reason == FailoverReasons.Switchover
    ? [
        new(EventTypes.Normal, EventReasons.SwitchedOver, $"switched over from {record.From} to {record.To} as requested (term {record.Term})", record.From, record.Term),
        new(EventTypes.Normal, EventReasons.Promoted, $"pod {record.To} is now active, replacing {record.From} (switchover)", record.To, record.Term),
    ]
    : [
        new(EventTypes.Warning, EventReasons.FailoverStarted,
            $"active pod {record.From} is unhealthy ({Describe(record.Reason ?? "")}); failing over from {record.From} to {record.To}", record.From, record.Term),
        new(EventTypes.Normal, EventReasons.Promoted,
            $"pod {record.To} is now active, replacing {record.From} (reason: {record.Reason}, term {record.Term})", record.To, record.Term),
    ];

    private static string ClaimedMessage(GroupObservation o) =>
        (o.Members.Count == 0 ? "every pod" : "some pods") + " that match spec.selector already belong to another group: " +
        string.Join(", ", o.ClaimedByOthers.OrderBy(c => c.Pod, StringComparer.Ordinal).Select(c => $"{c.Pod} (group {c.Group})")) +
        $"; a pod is a member of one group at a time (annotation {Roles.GroupAnnotation}): change one group's selector, or delete the other group";

    /// <summary>A spec the operator must not act on: nothing is written but the status that says why.</summary>
    private static FailoverPlan Refuse(GroupObservation o, IReadOnlyList<string> problems)
    {
        var message = $"spec is invalid, nothing is changed until it is fixed: {string.Join("; ", problems)}";
        var known = o.Status?.Conditions?.Any(c => c.Type == ConditionTypes.InvalidSpec && c.Status == "True" && c.Message == message) == true;
        var plan = Plan(o, active: o.Status?.ActivePod, GroupPhase.Invalid, LeaseAction.None,
            available: (false, ConditionTypes.InvalidSpec, message), failure: null,
            events: known ? [] : [new PlannedEvent(EventTypes.Warning, EventReasons.InvalidSpec, message)],
            actives: o.Status?.ActivePods is { Count: > 0 } recorded ? [.. recorded] : null);
        // A drain recorded before keeps its start: fixing the spec must not restart drainTimeoutSeconds.
        plan.Status.ActiveDrain = o.Status?.ActiveDrain;
        return plan with { RoleChanges = [] };
    }

    private static string ExcludedReady(GroupObservation o, string? active) =>
        o.Members.Where(p => p.IsHealthy && !p.Promotable && p.Name != active).Select(p => p.Name).Order(StringComparer.Ordinal).ToList() is { Count: > 0 } excluded
            ? $" (Ready but excluded with {Roles.PromotableAnnotation}=false: {string.Join(", ", excluded)})"
            : "";

    /// <summary>The active failed and nothing can replace it yet: said once, as a Warning.</summary>
    private static FailoverPlan Degraded(GroupObservation o, string? active, string message, ActiveFailure failure)
    {
        var events = o.Status?.Phase == GroupPhase.Degraded
            ? []
            : new[] { new PlannedEvent(EventTypes.Warning, EventReasons.NoStandbyAvailable, message) };
        return Plan(o, active, GroupPhase.Degraded, LeaseAction.None, available: (false, "NoStandbyAvailable", message), failure: failure, events: events);
    }

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
        IReadOnlyList<PlannedEvent>? events = null,
        IReadOnlyList<string>? actives = null,
        (bool Status, string Reason, string Message)? degradedOverride = null)
    {
        // With spec.activeCount 1 the set is the active alone; with more it is passed in, the first being the active.
        IReadOnlyList<string> set = actives ?? (active is null ? [] : [active]);
        var readyStandbys = o.Members.Count(p => p.IsCandidate && !set.Contains(p.Name));
        var status = new HighAvailabilityGroupStatus
        {
            ActivePod = active,
            ActivePods = set.Count == 0 ? null : [.. set],
            Phase = phase,
            ReadyStandbys = readyStandbys,
            // Derived from the Lease, which counts every change of holder, so it can never drift.
            FailoverCount = lease.Failover?.Term ?? o.Lease?.Transitions ?? 0,
            // A switchover is recorded in lastSwitchover; lastFailover keeps the last unplanned change.
            LastFailover = failover is { Reason: not FailoverReasons.Switchover } ? failover : o.Status?.LastFailover,
            LastSwitchover = o.Status?.LastSwitchover,
            ActiveFailure = failure,
            ObservedGeneration = o.Generation,
        };
        var degraded = degradedOverride ?? (!available.Status
            ? (true, available.Reason, available.Message)
            : readyStandbys == 0
                ? (true, "NoReadyStandby", $"no promotable standby is Ready: if {active} fails there is nothing to fail over to{ExcludedReady(o, active)}")
                : (false, "StandbysReady", $"{readyStandbys} standby pod(s) Ready to take over"));
        status.Conditions =
        [
            Condition(o, ConditionTypes.Available, available.Status, available.Reason, available.Message),
            Condition(o, ConditionTypes.Degraded, degraded.Item1, degraded.Item2, degraded.Item3),
        ];
        if (phase == GroupPhase.Invalid)
        {
            status.Conditions.Add(Condition(o, ConditionTypes.InvalidSpec, true, ConditionTypes.InvalidSpec, available.Message));
        }
        if (FailureDomain(o, set) is { } domain) status.Conditions.Add(domain);
        if (o.ClaimedByOthers.Count > 0)
        {
            status.Conditions.Add(Condition(o, ConditionTypes.PodsInAnotherGroup, true, ConditionTypes.PodsInAnotherGroup, ClaimedMessage(o)));
        }
        if (o.Members.Where(p => p.AnnotationProblem is not null).Select(p => $"pod {p.Name}: {p.AnnotationProblem}").ToList() is { Count: > 0 } problems)
        {
            status.Conditions.Add(Condition(o, ConditionTypes.InvalidAnnotation, true, ConditionTypes.InvalidAnnotation,
                string.Join("; ", problems.Order(StringComparer.Ordinal))));
        }
        return new FailoverPlan(lease, RoleChanges(o, set), status, events ?? [], requeueAfter, failover);
    }

    /// <summary>Role labels converge on the chosen actives; every demotion is ordered before the promotions, so at no instant
    /// do more pods carry the active role than before or than the set has.</summary>
    private static IReadOnlyList<RoleChange> RoleChanges(GroupObservation o, IReadOnlyList<string> actives)
    {
        var changes = new List<RoleChange>();
        foreach (var former in o.FormerMembers.Order(StringComparer.Ordinal))
        {
            changes.Add(new RoleChange(former, null));
        }
        var promotions = new List<RoleChange>();
        foreach (var pod in o.Members.OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            var desired = actives.Contains(pod.Name) ? Roles.Active : Roles.Standby;
            if (pod.Role == desired && pod.Annotated) continue;
            if (desired == Roles.Active) promotions.Add(new RoleChange(pod.Name, desired));
            else changes.Add(new RoleChange(pod.Name, desired));
        }
        changes.AddRange(promotions);
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
        FailoverReasons.LeaseExpired => "its agent did not renew the Lease within its duration",
        FailoverReasons.NodeLost => "its node stopped heartbeating: its kube-node-lease Lease is stale",
        FailoverReasons.Switchover => "a switchover was requested",
        FailoverReasons.NodeDrain => "its node is being drained",
        _ => reason,
    };
}
