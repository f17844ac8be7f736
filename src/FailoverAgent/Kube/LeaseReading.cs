using System.Text.Json;
using FailoverAgent.Fencing;
using k8s;
using k8s.Models;

namespace FailoverAgent.Kube;

/// <summary>Turns a Lease from the server into what the fencing machine decides on.</summary>
public static class LeaseReading
{
    public const string FailoverAnnotationKey = "failover.dev/failover";
    public const string FencingAnnotationKey = "failover.dev/fencing";
    public const string DemotedTermAnnotationKey = "failover.dev/demoted-term";

    public static LeaseSnapshot ToSnapshot(V1Lease lease)
    {
        // managedFields deserialize to JsonElement, which the client's JSON context cannot write
        // back (docs: native-aot); the server keeps them whatever a replace sends.
        if (lease.Metadata is not null) lease.Metadata.ManagedFields = null;
        var failover = Annotation(lease, FailoverAnnotationKey, AgentJsonContext.Default.FailoverAnnotation);
        var fencing = Annotation(lease, FencingAnnotationKey, AgentJsonContext.Default.FencingAnnotation);
        return new LeaseSnapshot(
            Holder: string.IsNullOrEmpty(lease.Spec?.HolderIdentity) ? null : lease.Spec.HolderIdentity,
            Term: lease.Spec?.LeaseTransitions ?? 0,
            Duration: lease.Spec?.LeaseDurationSeconds is > 0 and var seconds ? TimeSpan.FromSeconds(seconds) : LeaseSnapshot.DefaultDuration,
            ResourceVersion: lease.Metadata?.ResourceVersion ?? "",
            FailoverReason: failover?.Reason,
            FailoverTerm: failover?.Term,
            FencingReason: fencing?.Reason) {
                Source = lease, FencedPod = fencing?.From, FencedTerm = fencing?.Term, FencedUid = fencing?.Uid, FencedTo = fencing?.To,
            };
    }

    /// <summary>
    /// The hand-over (docs/fencing.md): the Lease of write 1 with the pod it names as the operator's choice made
    /// holder, in the next term, with the failover record the operator would have written itself, and the fencing
    /// record gone. Null when the Lease fences no one or names no choice. Pure: the caller writes it back, with
    /// write 1's resourceVersion, so any later write by anyone (the operator changed its mind) refuses it.
    /// </summary>
    public static V1Lease? HandedOver(V1Lease writeOne, DateTime now)
    {
        var fencing = Annotation(writeOne, FencingAnnotationKey, AgentJsonContext.Default.FencingAnnotation);
        if (fencing is not { From: { Length: > 0 } from, To: { Length: > 0 } to } || !string.IsNullOrEmpty(writeOne.Spec?.HolderIdentity)) return null;
        var term = (writeOne.Spec?.LeaseTransitions ?? 0) + 1;
        var record = new FailoverAnnotation { From = from, To = to, Reason = fencing.Reason, DetectedAt = fencing.DetectedAt, Term = term, Proof = HandedOverProof };
        var lease = KubernetesJson.Deserialize<V1Lease>(KubernetesJson.Serialize(writeOne));
        lease.Metadata.Annotations.Remove(FencingAnnotationKey);
        lease.Metadata.Annotations[FailoverAnnotationKey] = JsonSerializer.Serialize(record, AgentJsonContext.Default.FailoverAnnotation);
        lease.Spec.HolderIdentity = to;
        lease.Spec.LeaseTransitions = term;
        lease.Spec.AcquireTime = now;
        lease.Spec.RenewTime = now;
        return lease;
    }

    /// <summary>The failover record's proof when the demoted agent handed the Lease over (the operator's FencingProofs.HandedOver).</summary>
    public const string HandedOverProof = "HandedOver";

    // An annotation someone wrote by hand may not parse: it then tells nothing, it does not stop the agent.
    private static T? Annotation<T>(V1Lease lease, string key, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) where T : class
    {
        if (lease.Metadata?.Annotations?.TryGetValue(key, out var json) != true || string.IsNullOrEmpty(json)) return null;
        try { return JsonSerializer.Deserialize(json, type); }
        catch (JsonException) { return null; }
    }
}
