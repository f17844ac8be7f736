using System.Net;
using FailoverOperator.Runtime;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FailoverOperator.Failover;

/// <summary>
/// The execute step: carries a plan out in the order that makes it safe, one named step each:
/// commit the Lease → demote → promote (every demotion before any promotion) → a failover's Events → the status →
/// other Events (write 1 of Agent mode stops after the role changes: see <see cref="FailoverPlan.StatusDeferredFor"/>). Each step writes
/// through the API server and puts what it wrote into the cache. A step that fails stops the ones
/// after it; the next reconcile converges on the Lease, whatever line a crash hit.
/// </summary>
[RbacRule("coordination.k8s.io", "leases", "create", "update", "get")]
[RbacRule("", "pods", "patch")]
[RbacRule(HighAvailabilityGroup.Group, HighAvailabilityGroup.Plural + "/status", "patch")]
[RbacRule(HighAvailabilityGroup.Group, HighAvailabilityGroup.Plural, "patch")]
public sealed class PlanExecutor(IKubernetes client, FailoverCaches caches, EventRecorder events, TimeProvider time, ActiveProtection? protection = null)
{
    /// <returns>The failover this plan carried out, completed, if it was one.</returns>
    public async Task<FailoverRecord?> ExecuteAsync(ObservedGroup observed, FailoverPlan plan, CancellationToken cancellationToken)
    {
        await CommitLeaseAsync(observed, plan.Lease, cancellationToken).ConfigureAwait(false);
        foreach (var demotion in plan.Demotions) await SetRoleAsync(observed, demotion, cancellationToken).ConfigureAwait(false);
        foreach (var promotion in plan.Promotions) await SetRoleAsync(observed, promotion, cancellationToken).ConfigureAwait(false);
        var failover = plan.Failover is { } planned ? Complete(planned) : null;
        if (plan.StatusDeferredFor is not null)
        {
            // Write 1 of Agent mode: the next reconcile, due within the deferral, writes the status and the rest.
            PublishEvents(observed, plan.Events.Where(e => e.Term is null));
            return failover;
        }
        await RecordFailoverEventsAsync(observed, plan.Events.Where(e => e.Term is not null), cancellationToken).ConfigureAwait(false);
        await RecordStatusAsync(observed.Group, failover is null ? plan.Status : WithCompleted(plan.Status, failover), cancellationToken).ConfigureAwait(false);
        PublishEvents(observed, plan.Events.Where(e => e.Term is null));
        // After the status: a budget that cannot be written (its name taken) must not keep a failover from being recorded.
        if (protection is not null) await protection.ApplyAsync(observed.Group, plan.Protection, cancellationToken).ConfigureAwait(false);
        if (plan.HandledSwitchover is { } request) await RemoveSwitchoverRequestAsync(observed.Group, request, cancellationToken).ConfigureAwait(false);
        return failover;
    }

    /// <summary>The commit point: every later step follows from the Lease.</summary>
    private async Task CommitLeaseAsync(ObservedGroup observed, LeaseAction action, CancellationToken cancellationToken)
    {
        if (action.Kind == LeaseActionKind.None) return;
        var group = observed.Group;
        var now = time.GetUtcNow().UtcDateTime;
        V1Lease written;
        if (observed.Lease is { } current)
        {
            var next = action.Kind == LeaseActionKind.Fence
                ? GroupLease.Fenced(current, group, action.Fencing!, now)
                : GroupLease.Next(current, group, action.Holder, now, action.Failover, action.Actives);
            written = await client.CoordinationV1.ReplaceNamespacedLeaseAsync(next, current.Metadata.Name, current.Metadata.NamespaceProperty,
                cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var lease = action.Kind == LeaseActionKind.Fence
                ? GroupLease.Fenced(null, group, action.Fencing!, now)
                : GroupLease.New(group, action.Holder, now, action.Term ?? 0, action.Actives);
            try
            {
                written = await client.CoordinationV1.CreateNamespacedLeaseAsync(lease, observed.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.Conflict)
            {
                if (await IsOursAsync(observed, cancellationToken).ConfigureAwait(false)) throw;
                // The cache holds only Leases labelled as ours: one of this name without the label is
                // someone else's (an application's own leader election, say). Not a transient conflict.
                var message = $"Lease {observed.Namespace}/{observed.Name} already exists but is not this group's " +
                              $"(no label {Roles.LeaseGroupLabel}={observed.Name}): rename the group, or delete that Lease if nothing uses it";
                events.Record(group, EventTypes.Warning, EventReasons.LeaseNameTaken, message);
                throw new InvalidOperationException(message, e);
            }
        }
        caches.Leases.Remember(written);
    }

    /// <summary>Whether the Lease a create collided with is the group's own (the cache had not seen it yet: a
    /// plain conflict, retried) rather than someone else's of the same name.</summary>
    private async Task<bool> IsOursAsync(ObservedGroup observed, CancellationToken cancellationToken)
    {
        var existing = await client.CoordinationV1.ReadNamespacedLeaseAsync(observed.Name, observed.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        return existing.Metadata.Labels?.ContainsKey(Roles.LeaseGroupLabel) == true;
    }

    private async Task SetRoleAsync(ObservedGroup observed, RoleChange change, CancellationToken cancellationToken)
    {
        var patch = new Dictionary<string, object>
        {
            ["metadata"] = new Dictionary<string, object>
            {
                ["labels"] = new Dictionary<string, string?> { [observed.Observation.Spec.RoleLabelKey] = change.Role },
                ["annotations"] = new Dictionary<string, string?> { [Roles.GroupAnnotation] = change.Role is null ? null : observed.Name },
            },
        };
        try
        {
            var patched = await client.CoreV1.PatchNamespacedPodAsync(new V1Patch(patch, V1Patch.PatchType.MergePatch), change.Pod, observed.Namespace,
                cancellationToken: cancellationToken).ConfigureAwait(false);
            caches.Pods.Remember(patched);
        }
        catch (Exception e) when (ApiErrors.IsObjectGone(e) && change.Role != Roles.Active)
        {
            // A pod that no longer exists carries no role: the demotion is done.
        }
    }

    private FailoverRecord Complete(FailoverRecord planned)
    {
        var completed = time.GetUtcNow();
        return planned with
        {
            CompletedAt = completed.UtcDateTime,
            // A record without a detection time (none of the decision's makes one) gets no duration rather than a crash.
            DurationMilliseconds = planned.DetectedAt is { } detected ? (long)Math.Round((completed - detected).TotalMilliseconds) : null,
        };
    }

    // A copy, so the plan stays as the decision made it.
    private static HighAvailabilityGroupStatus WithCompleted(HighAvailabilityGroupStatus status, FailoverRecord failover)
    {
        var copy = KubernetesJson.Deserialize<HighAvailabilityGroupStatus>(KubernetesJson.Serialize(status));
        if (failover.Reason == FailoverReasons.Switchover) copy.LastSwitchover = copy.LastSwitchover! with { DurationMilliseconds = failover.DurationMilliseconds };
        else copy.LastFailover = failover;
        return copy;
    }

    /// <summary>
    /// The request is answered (status.lastSwitchover says how): remove it, unless someone replaced it
    /// meanwhile (the JSON patch's test fails, and the new request is answered next).
    /// </summary>
    private async Task RemoveSwitchoverRequestAsync(HighAvailabilityGroup group, string request, CancellationToken cancellationToken)
    {
        var path = "/metadata/annotations/" + Roles.SwitchoverAnnotation.Replace("~", "~0").Replace("/", "~1");
        var patch = new V1Patch($$"""[{"op":"test","path":"{{path}}","value":{{KubernetesJson.Serialize(request)}}},{"op":"remove","path":"{{path}}"}]""",
            V1Patch.PatchType.JsonPatch);
        try
        {
            var updated = await client.CustomObjects.PatchNamespacedCustomObjectAsync<HighAvailabilityGroup>(patch, HighAvailabilityGroup.Group,
                HighAvailabilityGroup.Version, group.Metadata.NamespaceProperty, HighAvailabilityGroup.Plural, group.Metadata.Name,
                cancellationToken: cancellationToken).ConfigureAwait(false);
            caches.Groups.Remember(updated);
        }
        catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.UnprocessableEntity)
        {
            // The annotation changed or went since the observation: nothing of ours to remove.
        }
    }

    private async Task RecordStatusAsync(HighAvailabilityGroup group, HighAvailabilityGroupStatus desired, CancellationToken cancellationToken)
    {
        if (group.Status is not null && KubernetesJson.Serialize(group.Status) == KubernetesJson.Serialize(desired)) return;
        var patch = new V1Patch(new Dictionary<string, object> { ["status"] = desired }, V1Patch.PatchType.MergePatch);
        var updated = await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync<HighAvailabilityGroup>(
            patch, HighAvailabilityGroup.Group, HighAvailabilityGroup.Version, group.Metadata.NamespaceProperty,
            HighAvailabilityGroup.Plural, group.Metadata.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
        caches.Groups.Remember(updated);
    }

    /// <summary>Events go on the group and on the pod they name; they are written off the reconcile path.</summary>
    private void PublishEvents(ObservedGroup observed, IEnumerable<PlannedEvent> planned)
    {
        foreach (var (target, e) in Targets(observed, planned)) events.Record(target, e.Type, e.Reason, e.Message);
    }

    /// <summary>
    /// A failover's Events, before the status that records it: once per object and term, so the reconcile
    /// that finishes an interrupted failover writes those still missing and none twice.
    /// </summary>
    private Task RecordFailoverEventsAsync(ObservedGroup observed, IEnumerable<PlannedEvent> planned, CancellationToken cancellationToken) =>
        Task.WhenAll(Targets(observed, planned).Select(t =>
            events.RecordOnceAsync(t.Target, t.Event.Type, t.Event.Reason, t.Event.Message, $"term-{t.Event.Term}", cancellationToken)));

    private IEnumerable<(IKubernetesObject<V1ObjectMeta> Target, PlannedEvent Event)> Targets(ObservedGroup observed, IEnumerable<PlannedEvent> planned)
    {
        foreach (var e in planned)
        {
            yield return (observed.Group, e);
            if (e.Pod is not null && caches.Pods.Get(observed.Namespace, e.Pod) is { } pod) yield return (pod, e);
        }
    }
}
