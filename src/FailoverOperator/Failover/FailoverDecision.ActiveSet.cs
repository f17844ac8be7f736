namespace FailoverOperator.Failover;

/// <summary>
/// spec.activeCount above 1 (issue 13, item 6): up to N members carry the active role. The Lease records the
/// set (holder = the first, the whole set in annotation failover.dev/actives) and every change of it is one
/// optimistic write of the Lease, one more term. Each write changes the set in one way only, in this order:
/// extra actives leave (scale-down), one failed active is replaced, one requested switchover, one active moves off
/// a node being drained, vacancies are filled. The next reconcile (the Lease's watch event) takes the next
/// step, so every failover keeps its own record and term. Labels follow the Lease, demotions first.
/// With activeCount 1 the single-active rules (FailoverDecision.cs) decide, unchanged.
/// </summary>
public static partial class FailoverDecision
{
    /// <summary>The set rules decide while more than one active is wanted or recorded (a lowered activeCount shrinks the set first).</summary>
    private static bool DecidesActiveSet(GroupObservation o) => o.Spec.ActiveCount > 1 || (o.Lease?.Actives.Count ?? 0) > 1;

    private static FailoverPlan DecideActiveSet(GroupObservation o)
    {
        var recorded = o.Lease?.Actives ?? [];
        if (recorded.Count == 0)
        {
            // A fencing left from Agent mode is finished by its own rules first (one active); the set grows from there.
            return o.Lease?.Fencing is not null ? DecideRoles(o) : ElectSet(o);
        }

        var failures = recorded.Select(name => FailureOf(o, name)).OfType<ActiveFailure>().ToList();
        return ScaleDown(o, recorded, failures)
            ?? (o.Spec.Paused ? SetPlan(o, recorded, failures, LeaseAction.None) : null)
            ?? ReplaceFailed(o, recorded, failures)
            ?? (o.SwitchoverRequest is { } request && failures.Count == 0 ? SwitchoverInSet(o, recorded, request) : null)
            ?? MoveOffDrain(o, recorded, failures)
            ?? Fill(o, recorded, failures)
            ?? SetPlan(o, recorded, failures, LeaseAction.None);
    }

    /// <summary>No set recorded yet: keep the Ready pods that already carry the active role (up to N), then add the best candidates.</summary>
    private static FailoverPlan ElectSet(GroupObservation o)
    {
        var adopted = Ranked(o.Members.Where(p => p.Role == Roles.Active && p.IsCandidate), avoidNode: null, NoNodes).Take(o.Spec.ActiveCount).ToList();
        var chosen = adopted.Select(p => p.Name).ToList();
        if (!o.Spec.Paused) chosen.AddRange(Additions(o, chosen, o.Spec.ActiveCount - chosen.Count));
        // Nothing to elect: the single-active rules say why (no members, none Ready, paused, claimed by another group).
        if (chosen.Count == 0) return Elect(o);

        var events = chosen.Select(name => new PlannedEvent(EventTypes.Normal, EventReasons.Promoted,
            $"pod {name} is now active (" + (adopted.Any(p => p.Name == name)
                ? $"adopted: it already carried {o.Spec.RoleLabelKey}={Roles.Active}"
                : "elected: among the best candidates (priority, then Ready the longest)") + $"; spec.activeCount={o.Spec.ActiveCount})", name)).ToList();
        var lease = new LeaseAction(o.Lease is null ? LeaseActionKind.Create : LeaseActionKind.Transfer, chosen[0])
        {
            Actives = chosen, Term = o.Lease is null ? TermFloor(o) : null,
        };
        return SetPlan(o, chosen, [], lease, events: events);
    }

    /// <summary>
    /// An active is failed: its reason, and since when (the status's record of it, while it is the same failure: the pod's
    /// Ready condition has not changed since), so failoverDelaySeconds also survives a change of operator leader.
    /// </summary>
    private static ActiveFailure? FailureOf(GroupObservation o, string name)
    {
        var pod = o.Members.FirstOrDefault(p => p.Name == name);
        var reason = pod is null ? (o.FormerMembers.Contains(name) ? FailoverReasons.NoLongerMember : FailoverReasons.Deleted) : pod.UnhealthyReason;
        if (reason is null) return null;
        var previous = (o.Status?.ActiveFailures ?? (o.Status?.ActiveFailure is { } single ? [single] : []))
            .FirstOrDefault(f => f.Pod == name && f.Since is not null && (f.ReadyTransition is null || pod is null || pod.ReadyTransition == f.ReadyTransition));
        return new ActiveFailure { Pod = name, Reason = reason, Since = previous?.Since ?? o.Now.UtcDateTime, ReadyTransition = pod?.ReadyTransition };
    }

    /// <summary>spec.activeCount was lowered: the failed actives leave first, then the lowest-ranked; the rest keep their order.</summary>
    private static FailoverPlan? ScaleDown(GroupObservation o, IReadOnlyList<string> recorded, IReadOnlyList<ActiveFailure> failures)
    {
        if (recorded.Count <= o.Spec.ActiveCount) return null;
        var healthy = Ranked(o.Members.Where(p => recorded.Contains(p.Name) && p.IsHealthy), avoidNode: null, NoNodes).Select(p => p.Name);
        var failed = recorded.Where(name => failures.Any(f => f.Pod == name));
        var keep = healthy.Concat(failed).Take(o.Spec.ActiveCount).ToHashSet();
        var remaining = recorded.Where(keep.Contains).ToList();
        var leaving = recorded.Where(name => !keep.Contains(name)).ToList();
        var events = leaving.Select(name => new PlannedEvent(EventTypes.Normal, EventReasons.Demoted,
            $"pod {name} is no longer active: spec.activeCount is {o.Spec.ActiveCount} and it ranked lowest of the {recorded.Count} actives " +
            $"({(failures.Any(f => f.Pod == name) ? "unhealthy" : "priority, then Ready the longest")})", name)).ToList();
        // A pending switchover waits for the next reconcile (this write's watch event) rather than being refused for it.
        return SetPlan(o, remaining, failures, Change(o, remaining), events: events, termAfter: o.Lease!.Transitions + 1)
            with { SwitchoverUnderway = o.SwitchoverRequest is not null };
    }

    /// <summary>The first failed active (in the Lease's order) whose failoverDelaySeconds has passed is replaced by the best standby.</summary>
    private static FailoverPlan? ReplaceFailed(GroupObservation o, IReadOnlyList<string> recorded, IReadOnlyList<ActiveFailure> failures)
    {
        foreach (var failure in failures)
        {
            var since = GroupObserver.ToOffset(failure.Since)!.Value;
            if (o.Now - since < TimeSpan.FromSeconds(o.Spec.FailoverDelaySeconds)) continue;
            var failedNode = o.Members.FirstOrDefault(p => p.Name == failure.Pod)?.Node;
            if (Replacement(o, recorded, failure.Pod!, o.Members.Where(p => p.IsCandidate), failedNode) is not { } candidate) continue;
            return Replaced(o, recorded, failures, new FailoverRecord
            {
                From = failure.Pod, To = candidate, Reason = failure.Reason, DetectedAt = failure.Since, Term = o.Lease!.Transitions + 1,
            });
        }
        return null;
    }

    /// <summary>The first healthy active on a node being drained moves to the best candidate the drain does not also evict (planned).</summary>
    private static FailoverPlan? MoveOffDrain(GroupObservation o, IReadOnlyList<string> recorded, IReadOnlyList<ActiveFailure> failures)
    {
        foreach (var active in recorded.Select(name => o.Members.FirstOrDefault(p => p.Name == name)))
        {
            if (active is not { IsHealthy: true, NodeDrain: not null }) continue;
            var safe = o.Members.Where(p => p.IsCandidate && p.NodeDrain is null && (p.Node is null || p.Node != active.Node));
            if (Replacement(o, recorded, active.Name, safe, active.Node) is not { } candidate) continue;
            return Replaced(o, recorded, failures, new FailoverRecord
            {
                From = active.Name, To = candidate, Reason = FailoverReasons.NodeDrain,
                DetectedAt = (DrainSince(o, active) ?? o.Now).UtcDateTime, Term = o.Lease!.Transitions + 1,
            });
        }
        return null;
    }

    /// <summary>
    /// A requested switchover with several actives: the named standby becomes active and the lowest-ranked active gives way
    /// (priority, then Ready the shortest). "any" is refused: it does not say which standby the user wants, and the best
    /// candidate would rank below every active anyway.
    /// </summary>
    private static FailoverPlan SwitchoverInSet(GroupObservation o, IReadOnlyList<string> recorded, string request)
    {
        var asked = request.Trim();
        if (o.Lease?.Failover is { Reason: FailoverReasons.Switchover } last && last.To == asked && recorded.Contains(asked)
            && last.Term >= Math.Max(o.Status?.LastFailover?.Term ?? 0, o.Status?.LastSwitchover?.Term ?? 0))
        {
            // Already carried out (a crash came before the request was removed): answered from the Lease's record, not done twice.
            return SetPlan(o, recorded, [], LeaseAction.None) with { HandledSwitchover = request };
        }
        var target = o.Members.FirstOrDefault(p => p.Name == asked);
        var refusal =
            asked == Roles.AnyCandidate ? $"with spec.activeCount={o.Spec.ActiveCount} \"{Roles.AnyCandidate}\" does not say which pod to make active: " +
                                          "name a Ready standby (the lowest-ranked active gives way to it)"
            : target is null ? $"pod \"{asked}\" is not a member of the group: it must exist in this namespace and match spec.selector"
            : recorded.Contains(asked) ? $"pod {asked} is already active"
            : !target.Promotable ? $"pod {asked} is excluded from promotion ({Roles.PromotableAnnotation}=false)"
            : !target.IsHealthy ? $"pod {asked} is not a healthy candidate ({Describe(target.UnhealthyReason!)})"
            : null;
        if (refusal is not null)
        {
            return RefuseSwitchover(o, SetPlan(o, recorded, [], LeaseAction.None), request, o.Lease?.Holder, refusal);
        }
        var givingWay = Ranked(o.Members.Where(p => recorded.Contains(p.Name)), avoidNode: null, NoNodes).Last();
        var record = new FailoverRecord
        {
            From = givingWay.Name, To = target!.Name, Reason = FailoverReasons.Switchover, DetectedAt = o.Now.UtcDateTime, Term = o.Lease!.Transitions + 1,
        };
        var plan = Replaced(o, recorded, [], record);
        plan.Status.LastSwitchover = Completed(record, request);
        return plan with { HandledSwitchover = request };
    }

    /// <summary>Fewer actives than spec.activeCount: the best candidates are added, preferring nodes no active is on.</summary>
    private static FailoverPlan? Fill(GroupObservation o, IReadOnlyList<string> recorded, IReadOnlyList<ActiveFailure> failures)
    {
        var added = Additions(o, recorded, o.Spec.ActiveCount - recorded.Count);
        if (added.Count == 0) return null;
        var set = recorded.Concat(added).ToList();
        var events = added.Select(name => new PlannedEvent(EventTypes.Normal, EventReasons.Promoted,
            $"pod {name} is now active (filling spec.activeCount={o.Spec.ActiveCount}; term {o.Lease!.Transitions + 1})", name)).ToList();
        return SetPlan(o, set, failures, Change(o, set), events: events, termAfter: o.Lease!.Transitions + 1);
    }

    /// <summary>The best <paramref name="count"/> candidates outside <paramref name="set"/>, each preferring a node no chosen active is on.</summary>
    private static List<string> Additions(GroupObservation o, IReadOnlyList<string> set, int count)
    {
        var chosen = set.ToList();
        var added = new List<string>();
        while (added.Count < count)
        {
            var busy = NodesOf(o, chosen);
            if (Ranked(o.Members.Where(p => p.IsCandidate && !chosen.Contains(p.Name)), avoidNode: null, busy).FirstOrDefault() is not { } next) break;
            chosen.Add(next.Name);
            added.Add(next.Name);
        }
        return added;
    }

    /// <summary>The best candidate outside the set to take <paramref name="leaving"/>'s place: not on its node, then preferring a node no other active is on.</summary>
    private static string? Replacement(GroupObservation o, IReadOnlyList<string> set, string leaving, IEnumerable<PodState> candidates, string? avoidNode) =>
        Ranked(candidates.Where(p => !set.Contains(p.Name)), avoidNode, NodesOf(o, set.Where(name => name != leaving))).FirstOrDefault()?.Name;

    /// <summary>
    /// The candidate order of FailoverDecision.BestCandidate (not on <paramref name="avoidNode"/>, priority, Ready the longest, name),
    /// with one more preference after priority: not on a node another active is on, so actives spread when they can.
    /// </summary>
    private static IOrderedEnumerable<PodState> Ranked(IEnumerable<PodState> pods, string? avoidNode, IReadOnlySet<string> busyNodes) =>
        pods.OrderBy(p => avoidNode is not null && p.Node == avoidNode)
            .ThenByDescending(p => p.Priority)
            .ThenBy(p => p.Node is not null && busyNodes.Contains(p.Node))
            .ThenBy(p => p.ReadySince ?? DateTimeOffset.MaxValue)
            .ThenBy(p => p.Name, StringComparer.Ordinal);

    private static readonly IReadOnlySet<string> NoNodes = new HashSet<string>();

    private static HashSet<string> NodesOf(GroupObservation o, IEnumerable<string> pods) =>
        pods.Select(name => o.Members.FirstOrDefault(p => p.Name == name)?.Node).OfType<string>().ToHashSet(StringComparer.Ordinal);

    /// <summary>The set with <paramref name="record"/>.From's place taken by .To, committed with the failover's record (its own term).</summary>
    private static FailoverPlan Replaced(GroupObservation o, IReadOnlyList<string> recorded, IReadOnlyList<ActiveFailure> failures, FailoverRecord record)
    {
        var set = recorded.Select(name => name == record.From ? record.To! : name).ToList();
        return SetPlan(o, set, failures.Where(f => f.Pod != record.From).ToList(), Change(o, set) with { Failover = record },
            failover: record, events: FailoverEvents(record));
    }

    /// <summary>The Lease write that records <paramref name="set"/>: its first pod is the holder.</summary>
    private static LeaseAction Change(GroupObservation o, IReadOnlyList<string> set) =>
        new(o.Lease is null ? LeaseActionKind.Create : LeaseActionKind.Transfer, set[0]) { Actives = set };

    /// <summary>
    /// The plan for a set of actives: phase, conditions and failures of the set as it is after this plan's write.
    /// Healthy while every active is; FailingOver while a failed one waits out failoverDelaySeconds (or its turn: one
    /// replacement per write); Degraded while a failed one has no candidate to replace it, and said once, as a Warning.
    /// </summary>
    private static FailoverPlan SetPlan(GroupObservation o, IReadOnlyList<string> set, IReadOnlyList<ActiveFailure> failures, LeaseAction lease,
        FailoverRecord? failover = null, IReadOnlyList<PlannedEvent>? events = null, int? termAfter = null)
    {
        var n = o.Spec.ActiveCount;
        var remaining = failures.Where(f => set.Contains(f.Pod!)).ToList();
        var healthy = set.Where(name => remaining.All(f => f.Pod != name)).ToList();
        var candidates = o.Members.Where(p => p.IsCandidate && !set.Contains(p.Name)).ToList();
        var delay = TimeSpan.FromSeconds(o.Spec.FailoverDelaySeconds);
        // Looked at again when the next failed active's delay runs out (a replacement itself comes back through the Lease's watch).
        var waits = remaining.Select(f => GroupObserver.ToOffset(f.Since)!.Value + delay - o.Now).Where(t => t > TimeSpan.Zero).ToList();
        TimeSpan? requeue = candidates.Count > 0 && waits.Count > 0 ? waits.Min() : null;

        var failed = string.Join(", ", remaining.Select(f => $"{f.Pod} ({Describe(f.Reason!)})"));
        var phase = o.Spec.Paused ? GroupPhase.Paused
            : remaining.Count == 0 ? GroupPhase.Healthy
            : candidates.Count > 0 ? GroupPhase.FailingOver
            : GroupPhase.Degraded;
        var available = healthy.Count > 0
            ? (true, "ActiveReady", $"{Pods(healthy)} active and Ready" + (remaining.Count > 0 ? $"; unhealthy active: {failed}" : ""))
            : (false, phase == GroupPhase.Paused ? "FailoverPaused" : phase == GroupPhase.Degraded ? "NoStandbyAvailable" : "FailoverDelayed",
               $"every active pod is unhealthy: {failed}");
        var readyStandbys = candidates.Count;
        (bool, string, string) degraded =
            phase == GroupPhase.Paused && remaining.Count > 0 ? (true, "FailoverPaused", $"unhealthy active: {failed}; automatic failover is paused (spec.paused)")
            : phase == GroupPhase.Degraded ? (true, "NoStandbyAvailable",
                $"unhealthy active: {failed}, and no standby is Ready{ExcludedReady(o, null)}; it keeps the active role until a standby becomes Ready")
            : phase == GroupPhase.FailingOver ? (true, "FailoverDelayed",
                $"unhealthy active: {failed}; replaced by the best standby after spec.failoverDelaySeconds={o.Spec.FailoverDelaySeconds}, one per Lease write")
            : healthy.Count < n ? (true, "FewerActivesThanActiveCount",
                $"{healthy.Count} of spec.activeCount={n} pods are active and Ready: " +
                (o.Spec.Paused ? "no pod is made active while the group is paused (spec.paused)" : $"no other promotable member is Ready{ExcludedReady(o, null)}"))
            : readyStandbys == 0 ? (true, "NoReadyStandby", $"no promotable standby is Ready: if an active fails there is nothing to fail over to{ExcludedReady(o, null)}")
            : (false, "StandbysReady", $"{readyStandbys} standby pod(s) Ready to take over");

        var planned = (events ?? []).ToList();
        if (phase == GroupPhase.Degraded && o.Status?.Phase != GroupPhase.Degraded)
        {
            planned.Add(new PlannedEvent(EventTypes.Warning, EventReasons.NoStandbyAvailable, degraded.Item3));
        }
        var plan = Plan(o, active: set.Count > 0 ? set[0] : null, phase, lease, available, failure: remaining.FirstOrDefault(),
            requeueAfter: requeue, failover: failover, events: planned, actives: set, degradedOverride: degraded);
        plan.Status.ActiveFailures = remaining.Count > 0 ? remaining : null;
        if (termAfter is { } term) plan.Status.FailoverCount = term;
        return plan;
    }

    private static string Pods(IReadOnlyList<string> names) => names.Count == 1 ? $"pod {names[0]} is" : $"pods {string.Join(", ", names)} are";
}
