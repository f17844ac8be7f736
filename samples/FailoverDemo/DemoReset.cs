using System.Net;
using FailoverOperator.Failover;
using FailoverOperator.Testing;
using k8s;
using k8s.Autorest;

namespace FailoverDemo;

/// <summary>Step 1: the namespace, without what a previous run left in it.</summary>
public static class DemoReset
{
    /// <summary>Removes what a previous run left (group, Lease, pods, Service, Events), keeping the namespace; says what it did.</summary>
    public static async Task<string> RunAsync(Cluster cluster, string ns)
    {
        var existing = await cluster.ReadNamespaceAsync(ns);
        if (existing is null)
        {
            await cluster.EnsureNamespaceAsync(ns);
            return "created";
        }
        if (existing.Status?.Phase == "Terminating")
        {
            await cluster.EnsureNamespaceAsync(ns);
            return "re-created (the previous one was terminating)";
        }
        await DeletePreviousAsync(cluster.Api, ns);
        await WaitGoneAsync(cluster, ns);
        await cluster.EnsureNamespaceAsync(ns);
        return "the previous demo's group, Lease, workload, Service and Events removed";
    }

    private static async Task DeletePreviousAsync(IKubernetes api, string ns)
    {
        await Ignore404(() => api.CustomObjects.DeleteNamespacedCustomObjectAsync(HighAvailabilityGroup.Group, HighAvailabilityGroup.Version, ns, HighAvailabilityGroup.Plural, Demo.GroupName));
        await Ignore404(() => api.CoordinationV1.DeleteNamespacedLeaseAsync(Demo.GroupName, ns));
        try
        {
            await Ignore404(() => api.CoreV1.DeleteNamespacedServiceAsync(Demo.ServiceName, ns));
        }
        catch (System.Text.Json.JsonException)
        {
            // Deleted: API servers before 1.21 answer a Service deletion with a Status, not the Service.
        }
        // Real mode's Deployment and its ReplicaSets go first, so nothing re-creates the pods deleted next.
        await Ignore404(() => api.AppsV1.DeleteNamespacedDeploymentAsync(Demo.GroupName, ns, propagationPolicy: "Background"));
        await api.AppsV1.DeleteCollectionNamespacedReplicaSetAsync(ns, labelSelector: $"{Cluster.GroupLabel}={Demo.GroupName}");
        await api.CoreV1.DeleteCollectionNamespacedPodAsync(ns, labelSelector: $"{Cluster.GroupLabel}={Demo.GroupName}", gracePeriodSeconds: 0);
        await api.CoreV1.DeleteCollectionNamespacedEventAsync(ns);
    }

    private static async Task WaitGoneAsync(Cluster cluster, string ns)
    {
        var api = cluster.Api;
        await Wait.UntilAsync(async () =>
                (await api.CoreV1.ListNamespacedPodAsync(ns)).Items.Count == 0
                && (await cluster.GetLeaseAsync(ns, Demo.GroupName)) is null
                && await cluster.GetGroupAsync(ns, Demo.GroupName) is null,
            TimeSpan.FromSeconds(60), $"the previous demo objects in {ns} to be gone");
    }

    private static async Task Ignore404(Func<Task> call)
    {
        try { await call(); }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { }
    }
}
