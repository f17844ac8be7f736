using System.Net;
using System.Text.Json;
using FailoverAgent.Fencing;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FailoverAgent.Kube;

/// <summary>Every API call the agent makes: the group's Lease (by name), its own pod, Events.</summary>
public sealed class GroupApi(IKubernetes client, AgentIdentity identity)
{
    public IKubernetes Client => client;

    /// <summary>The Lease, or null when it does not exist.</summary>
    public async Task<V1Lease?> GetLeaseAsync(CancellationToken cancel)
    {
        try { return await client.CoordinationV1.ReadNamespacedLeaseAsync(identity.Group, identity.Namespace, cancellationToken: cancel); }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { return null; }
    }

    /// <summary>The basis with renewTime now, written with the basis's resourceVersion (409 if anyone wrote since).</summary>
    public Task<V1Lease> RenewAsync(LeaseSnapshot basis, CancellationToken cancel)
    {
        var lease = WritableCopy(basis);
        lease.Spec.RenewTime = DateTime.UtcNow;
        return client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, identity.Group, identity.Namespace, cancellationToken: cancel);
    }

    /// <summary>No holder, and the fencing record saying we held this term and stopped (already acknowledged).</summary>
    public Task<V1Lease> ReleaseAsync(LeaseSnapshot basis, string reason, CancellationToken cancel)
    {
        var lease = WritableCopy(basis);
        lease.Spec.HolderIdentity = "";
        lease.Metadata.Annotations ??= new Dictionary<string, string>();
        lease.Metadata.Annotations[LeaseReading.FencingAnnotationKey] = JsonSerializer.Serialize(
            new FencingAnnotation { From = identity.Pod, Term = basis.Term, Since = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"), Reason = reason },
            AgentJsonContext.Default.FencingAnnotation);
        return client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, identity.Group, identity.Namespace, cancellationToken: cancel);
    }

    /// <summary>
    /// The hand-over: write 1 (the basis) written to the pod it names, in the next term, carrying write 1's
    /// resourceVersion (409 if anyone wrote the Lease since). False when the basis names no pod to hand to.
    /// </summary>
    public async Task<bool> HandOverAsync(LeaseSnapshot basis, CancellationToken cancel)
    {
        if (LeaseReading.HandedOver(WritableCopy(basis), DateTime.UtcNow) is not { } lease) return false;
        await client.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, identity.Group, identity.Namespace, cancellationToken: cancel);
        return true;
    }

    /// <summary>Our pod's acknowledgement: failover.dev/demoted-term = term (a merge patch: nothing else changes).</summary>
    public Task AcknowledgeAsync(long term, CancellationToken cancel)
    {
        var body = new Dictionary<string, Dictionary<string, Dictionary<string, string>>>
        {
            ["metadata"] = new() { ["annotations"] = new() { [LeaseReading.DemotedTermAnnotationKey] = term.ToString(System.Globalization.CultureInfo.InvariantCulture) } },
        };
        var patch = new V1Patch(JsonSerializer.Serialize(body, AgentJsonContext.Default.DictionaryStringDictionaryStringDictionaryStringString), V1Patch.PatchType.MergePatch);
        return client.CoreV1.PatchNamespacedPodAsync(patch, identity.Pod, identity.Namespace, cancellationToken: cancel);
    }

    public async Task<string?> PodUidAsync(CancellationToken cancel) =>
        (await client.CoreV1.ReadNamespacedPodAsync(identity.Pod, identity.Namespace, cancellationToken: cancel)).Metadata?.Uid;

    /// <summary>Our pod's UID and the term in its demoted-term annotation (-1 when there is none or it does not parse).</summary>
    public async Task<(string? Uid, long AcknowledgedTerm)> OwnPodAsync(CancellationToken cancel)
    {
        var pod = await client.CoreV1.ReadNamespacedPodAsync(identity.Pod, identity.Namespace, cancellationToken: cancel);
        var term = pod.Metadata?.Annotations?.TryGetValue(LeaseReading.DemotedTermAnnotationKey, out var raw) == true
                   && long.TryParse(raw, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var parsed) ? parsed : -1;
        return (pod.Metadata?.Uid, term);
    }

    public Task CreateEventAsync(Corev1Event ev, CancellationToken cancel) =>
        client.CoreV1.CreateNamespacedEventAsync(ev, identity.Namespace, cancellationToken: cancel);

    public static bool IsConflict(Exception e) => e is HttpOperationException { Response.StatusCode: HttpStatusCode.Conflict };

    /// <summary>A deep copy to change (the snapshot's Lease may still be read elsewhere).</summary>
    private static V1Lease WritableCopy(LeaseSnapshot basis)
    {
        var source = basis.Source as V1Lease ?? throw new InvalidOperationException("a Lease snapshot without its Lease cannot be written back");
        var copy = KubernetesJson.Deserialize<V1Lease>(KubernetesJson.Serialize(source));
        copy.Spec ??= new V1LeaseSpec();
        return copy;
    }
}
