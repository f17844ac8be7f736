using System.Net;
using FailoverOperator.Runtime;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FailoverOperator.Failover;

/// <summary>
/// spec.protectActive: the group's PodDisruptionBudget, "&lt;group&gt;-active", minAvailable spec.activeCount
/// (1 by default) over the group's selector plus &lt;roleLabelKey&gt;=active. It selects the active pods only (the
/// operator labels at most activeCount pods active at a time, and demotes before it promotes), so an eviction of the active is refused
/// while an eviction of any standby is not; when the active moves, the budget follows its label without
/// a write. A budget the disruption controller has not yet counted refuses evictions too (fail closed).
/// </summary>
[RbacRule(PodDisruptionBudgetApi.Group, PodDisruptionBudgetApi.Plural, "create", "update", "delete")]
public sealed class ActiveProtection(PodDisruptionBudgetApi api, Informer<V1PodDisruptionBudget, V1PodDisruptionBudgetList> budgets, EventRecorder events)
{
    /// <summary>The budget the group should own (pure).</summary>
    public static V1PodDisruptionBudget Desired(HighAvailabilityGroup group)
    {
        var spec = group.Spec ?? new HighAvailabilityGroupSpec();
        var matchLabels = new Dictionary<string, string>(spec.Selector?.MatchLabels ?? new Dictionary<string, string>())
        {
            [spec.RoleLabelKey] = Roles.Active,
        };
        return new V1PodDisruptionBudget
        {
            Metadata = new V1ObjectMeta
            {
                Name = FailoverDecision.BudgetName(group.Metadata.Name),
                NamespaceProperty = group.Metadata.NamespaceProperty,
                Labels = new Dictionary<string, string> { [Roles.LeaseGroupLabel] = GroupLease.GroupLabelValue(group.Metadata.Name) },
                OwnerReferences =
                [
                    new V1OwnerReference
                    {
                        ApiVersion = HighAvailabilityGroup.ApiVersionName, Kind = HighAvailabilityGroup.KindName,
                        Name = group.Metadata.Name, Uid = group.Metadata.Uid, Controller = true,
                    },
                ],
            },
            Spec = new V1PodDisruptionBudgetSpec
            {
                // Every active counts: with spec.activeCount N, N of them must stay, so none of a full set is evictable until it is moved.
                MinAvailable = Math.Max(1, spec.ActiveCount),
                Selector = new V1LabelSelector { MatchLabels = matchLabels, MatchExpressions = spec.Selector?.MatchExpressions },
            },
        };
    }

    /// <summary>The existing budget already says what the desired one says.</summary>
    public static bool SameSpec(V1PodDisruptionBudget existing, V1PodDisruptionBudget desired) =>
        KubernetesJson.Serialize(Normalized(existing.Spec)) == KubernetesJson.Serialize(Normalized(desired.Spec));

    private static V1PodDisruptionBudgetSpec Normalized(V1PodDisruptionBudgetSpec? spec) => new()
    {
        MinAvailable = spec?.MinAvailable,
        MaxUnavailable = spec?.MaxUnavailable,
        Selector = new V1LabelSelector
        {
            MatchLabels = spec?.Selector?.MatchLabels is { Count: > 0 } labels ? new SortedDictionary<string, string>(labels, StringComparer.Ordinal) : null,
            MatchExpressions = spec?.Selector?.MatchExpressions is { Count: > 0 } expressions ? expressions : null,
        },
    };

    /// <summary>The execution step: create, correct or delete the budget as the plan says; nothing when it already is so.</summary>
    public async Task ApplyAsync(HighAvailabilityGroup group, Protection protection, CancellationToken cancellationToken)
    {
        if (protection == Protection.Unchanged) return;
        var ns = group.Metadata.NamespaceProperty;
        var name = FailoverDecision.BudgetName(group.Metadata.Name);
        var existing = budgets.Get(ns, name);
        if (protection == Protection.Remove)
        {
            if (existing is null) return;
            try
            {
                await api.DeleteAsync(ns, name, existing.Metadata.Uid, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (ApiErrors.IsObjectGone(e))
            {
                // Already gone: what was asked.
            }
            return;
        }

        var desired = Desired(group);
        if (existing is null)
        {
            try
            {
                budgets.Remember(await api.CreateAsync(desired, cancellationToken).ConfigureAwait(false));
            }
            catch (HttpOperationException e) when (e.Response?.StatusCode == HttpStatusCode.Conflict)
            {
                // The cache holds only budgets labelled as the operator's: one of this name it has not seen is most likely someone else's.
                var message = $"PodDisruptionBudget {ns}/{name} already exists and is not this group's (no label {Roles.LeaseGroupLabel}): " +
                              "spec.protectActive cannot protect the active until it is renamed or deleted";
                events.Record(group, EventTypes.Warning, EventReasons.BudgetNameTaken, message);
                throw new InvalidOperationException(message, e);
            }
            return;
        }
        if (SameSpec(existing, desired)) return;
        desired.Metadata = existing.Metadata;
        budgets.Remember(await api.ReplaceAsync(desired, cancellationToken).ConfigureAwait(false));
    }
}
