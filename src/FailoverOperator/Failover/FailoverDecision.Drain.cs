namespace FailoverOperator.Failover;

/// <summary>
/// Node drains (issue 13, item 4): when the active's node is cordoned or carries a NoExecute taint, the
/// active moves ahead of the eviction to a candidate on a schedulable node, planned (reason NodeDrain),
/// like a switchover. When it cannot move, status.activeDrain records since when, so every leader counts
/// spec.drainTimeoutSeconds from the same instant; with spec.protectActive the group's PodDisruptionBudget
/// holds the drain until then and is lifted after it, so a drain never hangs on the operator.
/// And the topology condition (item 5): SingleFailureDomain.
/// </summary>
public static partial class FailoverDecision
{
    public const string ZoneLabel = "topology.kubernetes.io/zone";

    /// <summary>A healthy active on a node being drained: moved to the best candidate on a schedulable node, else null (it stays).</summary>
    private static FailoverPlan? DrainMove(GroupObservation o, PodState holder)
    {
        if (holder.NodeDrain is null || o.Spec.Paused || DrainCandidate(o, holder) is not { } candidate) return null;
        var since = DrainSince(o, holder) ?? o.Now;
        if (o.Spec.Fencing == FencingModes.Agent)
        {
            return StartFencing(o, holder.Name, FailoverReasons.NodeDrain, since, candidate,
                $"node {holder.Node} of active pod {holder.Name} is being drained ({holder.NodeDrain}): switching over to {candidate.Name}", to: candidate.Name);
        }
        return Promote(o, new FailoverRecord
        {
            From = holder.Name, To = candidate.Name, Reason = FailoverReasons.NodeDrain, DetectedAt = since.UtcDateTime, Term = o.Lease!.Transitions + 1,
        });
    }

    /// <summary>The best candidate that the drain does not also evict: not on the active's node, not on a node being drained.</summary>
    public static PodState? DrainCandidate(GroupObservation o, PodState holder) =>
        BestCandidate(o.Members.Where(p => p.NodeDrain is null && (p.Node is null || p.Node != holder.Node)), exclude: holder.Name);

    /// <summary>Since when the drain of this pod's node was recorded, if the status records it for the same pod and node.</summary>
    private static DateTimeOffset? DrainSince(GroupObservation o, PodState active) =>
        o.Status?.ActiveDrain is { Since: { } since } drain && drain.Pod == active.Name && drain.Node == active.Node
            ? GroupObserver.ToOffset(since)
            : null;

    /// <summary>The PodDisruptionBudget's name: the group's, with a suffix so it does not take the application's own name.</summary>
    public static string BudgetName(string group) => group + "-active";

    /// <summary>
    /// Whatever the roles decision, the active that stays on a node being drained is recorded in
    /// status.activeDrain with why it stays, and the PodDisruptionBudget is kept or lifted: lifted once
    /// spec.drainTimeoutSeconds has passed since the drain was first recorded, for as long as that drain lasts.
    /// </summary>
    private static FailoverPlan TrackDrain(GroupObservation o, FailoverPlan plan)
    {
        var protect = o.Spec.ProtectActive ? Protection.Ensure : Protection.Remove;
        // With several actives, the first (in the Lease's order) that stays on a node being drained is the one recorded.
        var actives = plan.Status.ActivePods ?? (plan.Status.ActivePod is { } single ? [single] : []);
        var active = actives.Select(name => o.Members.FirstOrDefault(p => p.Name == name)).FirstOrDefault(p => p?.NodeDrain is not null);
        if (active?.NodeDrain is null)
        {
            plan.Status.ActiveDrain = null;
            return plan with { Protection = protect };
        }

        var previous = o.Status?.ActiveDrain;
        var known = DrainSince(o, active) is not null;
        var since = DrainSince(o, active) ?? o.Now;
        var deadline = since + TimeSpan.FromSeconds(o.Spec.DrainTimeoutSeconds);
        var liftedBefore = known ? previous!.ProtectionLiftedAt : null;
        var why = o.Spec.Paused ? "the group is paused (spec.paused), so the active is not moved"
            // With several actives the phase may speak of another one: this active's own health decides.
            : (o.Spec.ActiveCount > 1 ? !active.IsHealthy : plan.Status.Phase != GroupPhase.Healthy)
                ? $"the active is not healthy (phase {plan.Status.Phase}): the failover rules decide, not the drain"
            : $"no promotable standby is Ready on a schedulable node{ExcludedReady(o, active.Name)}";
        var drained = $"node {active.Node} of active pod {active.Name} is being drained ({active.NodeDrain}) and {why}";
        var events = new List<PlannedEvent>();
        TimeSpan? wait = null;
        DateTime? lifted = null;
        string message;
        if (!o.Spec.ProtectActive)
        {
            message = $"{drained}: the drain evicts it and a failover follows (spec.protectActive is false)";
        }
        else if (liftedBefore is null && o.Now < deadline)
        {
            wait = deadline - o.Now;
            message = $"{drained}: the PodDisruptionBudget {BudgetName(o.GroupName)} holds the drain until {deadline.UtcDateTime:O} " +
                      $"(spec.drainTimeoutSeconds={o.Spec.DrainTimeoutSeconds}), then it is lifted";
        }
        else
        {
            lifted = liftedBefore ?? o.Now.UtcDateTime;
            message = $"{drained}: no switchover could happen within spec.drainTimeoutSeconds={o.Spec.DrainTimeoutSeconds}, so the " +
                      $"PodDisruptionBudget {BudgetName(o.GroupName)} was lifted at {lifted:O} and the drain proceeds; a failover follows the eviction";
            if (liftedBefore is null) events.Add(new PlannedEvent(EventTypes.Warning, EventReasons.ProtectionLifted, message, active.Name));
        }
        if (!known) events.Insert(0, new PlannedEvent(EventTypes.Warning, EventReasons.NodeDrainBlocked, message, active.Name));

        plan.Status.ActiveDrain = new ActiveDrain
        {
            Pod = active.Name, Node = active.Node, Reason = active.NodeDrain, Since = since.UtcDateTime, ProtectionLiftedAt = lifted, Message = message,
        };
        return plan with
        {
            Protection = lifted is null ? protect : Protection.Remove,
            Events = [.. plan.Events, .. events],
            RequeueAfter = wait is { } w && (plan.RequeueAfter is null || w < plan.RequeueAfter) ? w : plan.RequeueAfter,
        };
    }

    /// <summary>
    /// SingleFailureDomain: True when every promotable Ready standby shares the active's node, or its zone
    /// when the active's node carries topology.kubernetes.io/zone. Absent while no active has a known node.
    /// With several actives the first one's domain is the one compared, and the other actives are not standbys.
    /// </summary>
    private static k8s.Models.V1Condition? FailureDomain(GroupObservation o, IReadOnlyList<string> actives)
    {
        if (actives.Count == 0 || o.Members.FirstOrDefault(p => p.Name == actives[0]) is not { Node: { } node } a) return null;
        var domain = a.Zone is { } zone ? $"zone {zone}" : $"node {node}";
        var standbys = o.Members.Where(p => p.IsCandidate && !actives.Contains(p.Name)).OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
        if (standbys.Count == 0)
        {
            return Condition(o, ConditionTypes.SingleFailureDomain, false, "NoReadyStandby",
                $"no promotable standby is Ready, in {domain} or elsewhere (condition Degraded)");
        }
        bool Shares(PodState p) => p.Node == node || (a.Zone is not null && p.Zone == a.Zone);
        var outside = standbys.Where(p => !Shares(p)).ToList();
        if (outside.Count == 0)
        {
            return Condition(o, ConditionTypes.SingleFailureDomain, true, "StandbysShareActiveDomain",
                $"every promotable Ready standby ({string.Join(", ", standbys.Select(p => p.Name))}) is in {domain} with the active {a.Name}: " +
                $"losing {domain} loses the group; spread the members with pod anti-affinity (topologyKey {(a.Zone is null ? "kubernetes.io/hostname" : ZoneLabel)})");
        }
        return Condition(o, ConditionTypes.SingleFailureDomain, false, "StandbysInOtherDomains",
            $"{outside.Count} promotable Ready standby(s) outside {domain} of the active {a.Name}: " +
            string.Join(", ", outside.Select(p => $"{p.Name} ({(p.Zone is { } z && a.Zone is not null ? $"zone {z}" : $"node {p.Node}")})")));
    }
}
