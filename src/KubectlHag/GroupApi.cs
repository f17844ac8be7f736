using System.Net;
using FailoverOperator.Failover;
using FailoverOperator.Runtime;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace KubectlHag;

/// <summary>A group, or anything the plugin reads for it, is not there; the message says what to do.</summary>
public sealed class NotFoundException(string message) : Exception(message);

/// <summary>The reads and writes of the plugin: one group of one namespace, its member pods and its Lease.</summary>
public sealed class GroupApi(KubeTarget target)
{
    private IKubernetes Client => target.Client;
    public string Namespace => target.Namespace;

    /// <exception cref="NotFoundException">no such group, or no HighAvailabilityGroup CRD at all</exception>
    public async Task<HighAvailabilityGroup> GetAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await Client.CustomObjects.GetNamespacedCustomObjectAsync<HighAvailabilityGroup>(HighAvailabilityGroup.Group,
                HighAvailabilityGroup.Version, Namespace, HighAvailabilityGroup.Plural, name, cancellationToken);
        }
        catch (HttpOperationException e) when (ApiErrors.StatusOf(e) == HttpStatusCode.NotFound)
        {
            throw NotFound(e, name);
        }
    }

    /// <summary>A JSON merge patch of the group; the response's Date header is the API server's time of the write.</summary>
    public async Task<(HighAvailabilityGroup Group, DateTimeOffset? ServerTime)> MergePatchAsync(string name, object patch, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await Client.CustomObjects.PatchNamespacedCustomObjectWithHttpMessagesAsync<HighAvailabilityGroup>(
                new V1Patch(patch, V1Patch.PatchType.MergePatch), HighAvailabilityGroup.Group, HighAvailabilityGroup.Version, Namespace,
                HighAvailabilityGroup.Plural, name, fieldManager: "kubectl-hag", cancellationToken: cancellationToken);
            return (response.Body, response.Response.Headers.Date);
        }
        catch (HttpOperationException e) when (ApiErrors.StatusOf(e) == HttpStatusCode.NotFound)
        {
            throw NotFound(e, name);
        }
    }

    /// <summary>The group's members by the operator's own rule (<see cref="GroupMembership"/>), in name order.</summary>
    public async Task<IReadOnlyList<V1Pod>> MembersAsync(HighAvailabilityGroup group, CancellationToken cancellationToken)
    {
        var pods = await Client.CoreV1.ListNamespacedPodAsync(Namespace, cancellationToken: cancellationToken);
        var groups = await Client.CustomObjects.ListNamespacedCustomObjectAsync<CustomResourceList<HighAvailabilityGroup>>(HighAvailabilityGroup.Group,
            HighAvailabilityGroup.Version, Namespace, HighAvailabilityGroup.Plural, cancellationToken: cancellationToken);
        var existing = groups.Items.Select(g => g.Metadata.Name).ToHashSet();
        return pods.Items.Where(p => GroupMembership.Of(group, p, existing.Contains) == Membership.Member)
            .OrderBy(p => p.Metadata.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>The group's Lease (same name), or null before the operator created it.</summary>
    public async Task<V1Lease?> LeaseAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await Client.CoordinationV1.ReadNamespacedLeaseAsync(name, Namespace, cancellationToken: cancellationToken);
        }
        catch (HttpOperationException e) when (ApiErrors.StatusOf(e) == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    // A 404 that names no object means the server does not serve the resource at all: the CRD is missing.
    private NotFoundException NotFound(HttpOperationException e, string name) => ApiErrors.IsObjectGone(e)
        ? new NotFoundException($"highavailabilitygroup \"{name}\" not found in namespace \"{Namespace}\"")
        : new NotFoundException($"the server has no {HighAvailabilityGroup.Plural}.{HighAvailabilityGroup.Group} resource: " +
                                "is the Failover Operator's CRD installed (kubectl apply -f crds/)?");
}
