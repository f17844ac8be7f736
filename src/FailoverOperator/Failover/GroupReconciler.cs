using System.Collections.Concurrent;
using System.Net;
using FailoverOperator.Hosting;
using FailoverOperator.Runtime;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FailoverOperator.Failover;

/// <summary>
/// Observes one group from the caches, asks <see cref="FailoverDecision"/> what to do, and carries the
/// plan out: Lease (the commit point, optimistic concurrency) → demotions → promotion → status → Events.
/// Safe to run any number of times and to crash at any line: the next run converges on the Lease.
/// </summary>
[RbacRule("coordination.k8s.io", "leases", "create", "update")]
[RbacRule("", "pods", "patch")]
[RbacRule(HighAvailabilityGroup.Group, HighAvailabilityGroup.Plural + "/status", "patch")]
public sealed class GroupReconciler(
    IKubernetes client,
    Informer<HighAvailabilityGroup, CustomResourceList<HighAvailabilityGroup>> groups,
    Informer<V1Pod, V1PodList> pods,
    Informer<V1Lease, V1LeaseList> leases,
    EventRecorder events,
    TimeProvider time,
    ILogger<GroupReconciler> logger) : IReconciler
{
    private readonly ConcurrentDictionary<string, string> phases = new();

    public async Task<TimeSpan?> ReconcileAsync(string key, CancellationToken cancellationToken)
    {
        var group = groups.Get(key);
        if (group is null)
        {
            // Deleted: the Lease goes with it (ownerReference); pods keep their labels so traffic is not cut.
            ForgetPhase(key);
            return null;
        }

        var ns = group.Metadata.NamespaceProperty;
        var name = group.Metadata.Name;
        var spec = group.Spec ?? new HighAvailabilityGroupSpec();
        var lease = leases.Get(ns, name);
        // A Lease without a spec is still there: replaced, not created again (which would conflict).
        var leaseState = lease is not null
            ? new LeaseState(lease.Spec?.HolderIdentity, ToOffset(lease.Spec?.RenewTime))
            : null;

        var members = new List<PodState>();
        var formers = new List<string>();
        foreach (var pod in pods.List(ns))
        {
            var claimedBy = pod.GetAnnotation(Roles.GroupAnnotation);
            var matches = LabelSelectorMatcher.Matches(spec.Selector, pod.Metadata.Labels);
            if (matches && (claimedBy is null || claimedBy == name || groups.Get(ns, claimedBy) is null))
            {
                members.Add(ToPodState(pod, spec.RoleLabelKey, claimedBy == name));
            }
            else if (!matches && claimedBy == name)
            {
                formers.Add(pod.Metadata.Name);
            }
        }

        var observation = new GroupObservation(group.Metadata.Generation ?? 0, spec, group.Status, members, formers, leaseState,
            ActiveUnhealthySince(group.Status, leaseState), time.GetUtcNow());
        var plan = FailoverDecision.Decide(observation);

        await WriteLeaseAsync(group, lease, plan.Lease, cancellationToken).ConfigureAwait(false);
        foreach (var change in plan.RoleChanges)
        {
            await SetRoleAsync(ns, name, spec.RoleLabelKey, change, cancellationToken).ConfigureAwait(false);
        }

        var status = plan.Status;
        if (plan.Failover is { } planned)
        {
            var completed = time.GetUtcNow();
            var failover = planned with
            {
                CompletedAt = completed.UtcDateTime,
                DurationMilliseconds = (long)Math.Round((completed - planned.DetectedAt!.Value).TotalMilliseconds),
            };
            status.LastFailover = failover;
            OperatorMetrics.Failovers.WithLabels(ns, name, failover.Reason ?? "").Inc();
            OperatorMetrics.FailoverDuration.Observe((completed - failover.DetectedAt!.Value).TotalSeconds);
            logger.LogInformation("group {Namespace}/{Group}: failed over from {From} to {To} ({Reason}) in {Duration} ms after the failure was observed",
                ns, name, failover.From, failover.To, failover.Reason, failover.DurationMilliseconds);
        }
        await WriteStatusAsync(group, status, cancellationToken).ConfigureAwait(false);
        SetPhase(key, status.Phase!);

        foreach (var e in plan.Events)
        {
            events.Record(group, e.Type, e.Reason, e.Message);
            if (e.Pod is not null && pods.Get(ns, e.Pod) is { } pod)
            {
                events.Record(pod, e.Type, e.Reason, e.Message);
            }
            if (e.Reason == EventReasons.Promoted)
            {
                logger.LogInformation("group {Namespace}/{Group}: {Message}", ns, name, e.Message);
            }
            else
            {
                logger.LogWarning("group {Namespace}/{Group}: {Message}", ns, name, e.Message);
            }
        }
        return plan.RequeueAfter;
    }

    /// <summary>The recorded failure start counts only while the same pod holds the Lease.</summary>
    private static DateTimeOffset? ActiveUnhealthySince(HighAvailabilityGroupStatus? status, LeaseState? lease) =>
        status?.ActiveFailure is { Pod: { } pod, Since: { } since } && pod == lease?.Holder ? ToOffset(since) : null;

    private static PodState ToPodState(V1Pod pod, string roleKey, bool annotated)
    {
        var ready = pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready");
        var isReady = ready?.Status == "True";
        return new PodState(
            pod.Metadata.Name,
            pod.GetLabel(roleKey),
            annotated,
            pod.Status?.Phase,
            isReady,
            isReady ? ToOffset(ready!.LastTransitionTime) : null,
            pod.Metadata.DeletionTimestamp is not null);
    }

    private async Task WriteLeaseAsync(HighAvailabilityGroup group, V1Lease? current, LeaseAction action, CancellationToken cancellationToken)
    {
        if (action.Kind == LeaseActionKind.None) return;
        var now = time.GetUtcNow().UtcDateTime;
        var duration = group.Spec.LeaseDurationSeconds;
        V1Lease written;
        if (action.Kind == LeaseActionKind.Create || current is null)
        {
            var lease = new V1Lease
            {
                Metadata = new V1ObjectMeta
                {
                    Name = group.Metadata.Name,
                    NamespaceProperty = group.Metadata.NamespaceProperty,
                    Labels = new Dictionary<string, string> { [Roles.LeaseGroupLabel] = group.Metadata.Name },
                    OwnerReferences =
                    [
                        new V1OwnerReference
                        {
                            ApiVersion = HighAvailabilityGroup.ApiVersionName,
                            Kind = HighAvailabilityGroup.KindName,
                            Name = group.Metadata.Name,
                            Uid = group.Metadata.Uid,
                            Controller = true,
                        },
                    ],
                },
                Spec = new V1LeaseSpec
                {
                    HolderIdentity = action.Holder,
                    LeaseDurationSeconds = duration,
                    AcquireTime = now,
                    RenewTime = now,
                    LeaseTransitions = 0,
                },
            };
            try
            {
                written = await client.CoordinationV1.CreateNamespacedLeaseAsync(lease, lease.Metadata.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.Conflict)
            {
                // The cache holds only Leases labelled as ours: one of this name without the label is
                // someone else's (an application's own leader election, say). Not a transient conflict.
                var message = $"Lease {lease.Metadata.NamespaceProperty}/{lease.Metadata.Name} already exists but is not this group's " +
                              $"(no label {Roles.LeaseGroupLabel}={group.Metadata.Name}): rename the group, or delete that Lease if nothing uses it";
                events.Record(group, "Warning", EventReasons.LeaseNameTaken, message);
                throw new InvalidOperationException(message, e);
            }
        }
        else
        {
            // Replace carries the cached resourceVersion: if anyone moved the Lease since, this fails
            // with 409 and nothing else of the plan is carried out.
            var spec = current.Spec ?? new V1LeaseSpec();
            var transfer = action.Kind == LeaseActionKind.Transfer && spec.HolderIdentity != action.Holder;
            var lease = new V1Lease
            {
                Metadata = current.Metadata,
                Spec = new V1LeaseSpec
                {
                    HolderIdentity = action.Holder,
                    LeaseDurationSeconds = duration,
                    AcquireTime = transfer ? now : spec.AcquireTime,
                    RenewTime = now,
                    LeaseTransitions = (spec.LeaseTransitions ?? 0) + (transfer && !string.IsNullOrEmpty(spec.HolderIdentity) ? 1 : 0),
                },
            };
            written = await client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, current.Metadata.Name, current.Metadata.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        leases.Remember(written);
    }

    private async Task SetRoleAsync(string ns, string group, string roleKey, RoleChange change, CancellationToken cancellationToken)
    {
        var patch = new Dictionary<string, object>
        {
            ["metadata"] = new Dictionary<string, object>
            {
                ["labels"] = new Dictionary<string, string?> { [roleKey] = change.Role },
                ["annotations"] = new Dictionary<string, string?> { [Roles.GroupAnnotation] = change.Role is null ? null : group },
            },
        };
        try
        {
            var patched = await client.CoreV1.PatchNamespacedPodAsync(new V1Patch(patch, V1Patch.PatchType.MergePatch), change.Pod, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
            pods.Remember(patched);
        }
        catch (Exception e) when (ApiErrors.IsObjectGone(e) && change.Role != Roles.Active)
        {
            // A pod that no longer exists carries no role: the demotion is done.
        }
    }

    private async Task WriteStatusAsync(HighAvailabilityGroup group, HighAvailabilityGroupStatus desired, CancellationToken cancellationToken)
    {
        if (group.Status is not null && KubernetesJson.Serialize(group.Status) == KubernetesJson.Serialize(desired)) return;
        var patch = new V1Patch(new Dictionary<string, object> { ["status"] = desired }, V1Patch.PatchType.MergePatch);
        var updated = await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync<HighAvailabilityGroup>(
            patch, HighAvailabilityGroup.Group, HighAvailabilityGroup.Version, group.Metadata.NamespaceProperty,
            HighAvailabilityGroup.Plural, group.Metadata.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
        groups.Remember(updated);
    }

    // The gauge moves by one per phase change, so a reconcile never walks every group.
    private void SetPhase(string key, string phase)
    {
        var previous = phases.TryGetValue(key, out var p) ? p : null;
        if (previous == phase) return;
        phases[key] = phase;
        if (previous is not null) OperatorMetrics.Groups.WithLabels(previous).Dec();
        OperatorMetrics.Groups.WithLabels(phase).Inc();
    }

    private void ForgetPhase(string key)
    {
        if (phases.TryRemove(key, out var previous)) OperatorMetrics.Groups.WithLabels(previous).Dec();
    }

    private static DateTimeOffset? ToOffset(DateTime? value) =>
        value is { } v ? new DateTimeOffset(DateTime.SpecifyKind(v, DateTimeKind.Utc)) : null;
}
