using k8s;
using k8s.Models;

namespace FailoverOperator.Runtime;

/// <summary>
/// PodDisruptionBudgets in whichever stable version the API server serves: policy/v1 from Kubernetes
/// 1.21 on, policy/v1beta1 before it (1.20 serves only that one; 1.25 removed it). The version is
/// discovered once (GET /apis, which every authenticated client may read) on first use and the same
/// object shape is sent in both: the fields used here (selector, minAvailable) mean the same in both
/// versions for a non-empty selector. Requests go through the custom-object calls, which take any
/// group and version, so one code path serves both.
/// </summary>
public sealed class PodDisruptionBudgetApi(IKubernetes client)
{
    public const string Group = "policy";
    public const string Plural = "poddisruptionbudgets";

    private string? version;

    /// <summary>"v1" when served, else "v1beta1". Only a successful discovery is remembered (a failed one is retried by the next caller).</summary>
    public async Task<string> VersionAsync(CancellationToken cancellationToken)
    {
        if (version is not null) return version;
        var groups = await client.Apis.GetAPIVersionsAsync(cancellationToken).ConfigureAwait(false);
        var policy = groups.Groups?.FirstOrDefault(g => g.Name == Group);
        version = Choose(policy?.Versions?.Select(v => v.Version) ?? []);
        return version;
    }

    /// <summary>The stable version to use among those served.</summary>
    public static string Choose(IEnumerable<string> served) => served.Contains("v1") ? "v1" : "v1beta1";

    public ListWatch<V1PodDisruptionBudget, V1PodDisruptionBudgetList> ListWatch(string? ns, string? labelSelector) =>
        new(async (r, ct) =>
        {
            var v = await VersionAsync(ct).ConfigureAwait(false);
            return string.IsNullOrEmpty(ns)
                ? await client.CustomObjects.ListClusterCustomObjectWithHttpMessagesAsync<V1PodDisruptionBudgetList>(Group, v, Plural,
                    allowWatchBookmarks: r.AllowWatchBookmarks, continueParameter: r.Continue, labelSelector: labelSelector, limit: r.Limit,
                    resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch, cancellationToken: ct).ConfigureAwait(false)
                : await client.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync<V1PodDisruptionBudgetList>(Group, v, ns, Plural,
                    allowWatchBookmarks: r.AllowWatchBookmarks, continueParameter: r.Continue, labelSelector: labelSelector, limit: r.Limit,
                    resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch, cancellationToken: ct).ConfigureAwait(false);
        });

    public async Task<V1PodDisruptionBudget> CreateAsync(V1PodDisruptionBudget budget, CancellationToken cancellationToken)
    {
        var v = await VersionAsync(cancellationToken).ConfigureAwait(false);
        budget.ApiVersion = $"{Group}/{v}";
        budget.Kind = V1PodDisruptionBudget.KubeKind;
        return await client.CustomObjects.CreateNamespacedCustomObjectAsync<V1PodDisruptionBudget>(budget, Group, v, budget.Metadata.NamespaceProperty, Plural,
            cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Replaces the budget; its metadata's resourceVersion makes the write fail with 409 if it changed meanwhile.</summary>
    public async Task<V1PodDisruptionBudget> ReplaceAsync(V1PodDisruptionBudget budget, CancellationToken cancellationToken)
    {
        var v = await VersionAsync(cancellationToken).ConfigureAwait(false);
        budget.ApiVersion = $"{Group}/{v}";
        budget.Kind = V1PodDisruptionBudget.KubeKind;
        return await client.CustomObjects.ReplaceNamespacedCustomObjectAsync<V1PodDisruptionBudget>(budget, Group, v, budget.Metadata.NamespaceProperty, Plural,
            budget.Metadata.Name, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes the budget if it is still the version given (a precondition on its UID).</summary>
    public async Task DeleteAsync(string ns, string name, string? uid, CancellationToken cancellationToken)
    {
        var v = await VersionAsync(cancellationToken).ConfigureAwait(false);
        await client.CustomObjects.DeleteNamespacedCustomObjectAsync(Group, v, ns, Plural, name,
            new V1DeleteOptions { Preconditions = uid is null ? null : new V1Preconditions { Uid = uid } }, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
