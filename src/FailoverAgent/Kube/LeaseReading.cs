using System.Text.Json;
using FailoverAgent.Fencing;
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
            FencingReason: fencing?.Reason) { Source = lease, FencedPod = fencing?.From, FencedTerm = fencing?.Term };
    }

    // An annotation someone wrote by hand may not parse: it then tells nothing, it does not stop the agent.
    private static T? Annotation<T>(V1Lease lease, string key, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) where T : class
    {
        if (lease.Metadata?.Annotations?.TryGetValue(key, out var json) != true || string.IsNullOrEmpty(json)) return null;
        try { return JsonSerializer.Deserialize(json, type); }
        catch (JsonException) { return null; }
    }
}
