using k8s;
using k8s.Models;

namespace FailoverOperator.Failover;

/// <summary>
/// The group's Lease as the operator writes it: the record of the active pod and the commit point of
/// every decision. Pure, so the Lease contract (README) is tested without an API server.
/// </summary>
public static class GroupLease
{
    /// <summary>A new Lease, named and labelled like the group and owned by it (garbage-collected with it).</summary>
    public static V1Lease New(HighAvailabilityGroup group, string? holder, DateTime now, int term = 0, IReadOnlyList<string>? actives = null) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = group.Metadata.Name,
            NamespaceProperty = group.Metadata.NamespaceProperty,
            Annotations = ActivesValue(actives) is { } set ? new Dictionary<string, string> { [Roles.LeaseActivesAnnotation] = set } : null,
            // The operator watches its Leases by this label's key; the value names the group for people,
            // when it fits a label value (63 characters; a group's name may have up to 253).
            Labels = new Dictionary<string, string> { [Roles.LeaseGroupLabel] = GroupLabelValue(group.Metadata.Name) },
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
            HolderIdentity = holder,
            LeaseDurationSeconds = group.Spec.LeaseDurationSeconds,
            AcquireTime = now,
            RenewTime = now,
            LeaseTransitions = term,
        },
    };

    /// <summary>
    /// The next version of an existing Lease, carrying its metadata (and so its resourceVersion: the
    /// write fails with 409 if anyone moved the Lease since). A failover starts the term its record
    /// names; any other change of holder, or of the set of actives, starts the next term too (an empty holder may hide one).
    /// <paramref name="actives"/> (the holder first) is recorded when it has more than one pod; otherwise the holder is the set.
    /// </summary>
    public static V1Lease Next(V1Lease current, HighAvailabilityGroup group, string? holder, DateTime now, FailoverRecord? failover = null,
        IReadOnlyList<string>? actives = null)
    {
        var spec = current.Spec ?? new V1LeaseSpec();
        var set = ActivesValue(actives);
        var recordedSet = current.Metadata.Annotations is { } annotations && annotations.TryGetValue(Roles.LeaseActivesAnnotation, out var value) ? value : null;
        var transfer = spec.HolderIdentity != holder || recordedSet != set;
        var metadata = WithAnnotations(current.Metadata, (Roles.LeaseFailoverAnnotation, failover is null ? null : KubernetesJson.Serialize(failover)),
            (Roles.LeaseFencingAnnotation, null), (Roles.LeaseActivesAnnotation, set));
        return new V1Lease
        {
            Metadata = metadata,
            Spec = new V1LeaseSpec
            {
                HolderIdentity = holder,
                LeaseDurationSeconds = group.Spec.LeaseDurationSeconds,
                AcquireTime = transfer ? now : spec.AcquireTime,
                RenewTime = now,
                LeaseTransitions = failover?.Term ?? (spec.LeaseTransitions ?? 0) + (transfer ? 1 : 0),
            },
        };
    }

    /// <summary>
    /// Agent mode, write 1: no holder, so the old active's agent can no longer renew (its writes carry
    /// the resourceVersion from before this one), and the record of whom it fences in which term.
    /// </summary>
    public static V1Lease Fenced(V1Lease? current, HighAvailabilityGroup group, FencingRecord fencing, DateTime now)
    {
        var spec = current?.Spec ?? new V1LeaseSpec { AcquireTime = now, LeaseTransitions = fencing.Term };
        return new V1Lease
        {
            Metadata = WithAnnotations(current?.Metadata ?? New(group, null, now).Metadata, (Roles.LeaseFencingAnnotation, KubernetesJson.Serialize(fencing))),
            Spec = new V1LeaseSpec
            {
                HolderIdentity = "",
                // The duration the fenced holder renewed under, so its agent's view and this record agree.
                LeaseDurationSeconds = fencing.DurationSeconds ?? group.Spec.LeaseDurationSeconds,
                AcquireTime = spec.AcquireTime,
                RenewTime = now,
                LeaseTransitions = spec.LeaseTransitions ?? 0,
            },
        };
    }

    /// <summary>A copy of the metadata with annotations set (a null value leaves an absent one absent and keeps a
    /// present one only when it is the failover record: that stays until the next failover replaces it).</summary>
    private static V1ObjectMeta WithAnnotations(V1ObjectMeta metadata, params (string Key, string? Value)[] annotations)
    {
        var copy = KubernetesJson.Deserialize<V1ObjectMeta>(KubernetesJson.Serialize(metadata));
        copy.Annotations ??= new Dictionary<string, string>();
        foreach (var (key, value) in annotations)
        {
            if (value is not null) copy.Annotations[key] = value;
            else if (key is Roles.LeaseFencingAnnotation or Roles.LeaseActivesAnnotation) copy.Annotations.Remove(key);
        }
        return copy;
    }

    /// <summary>The failover record the Lease's last transfer committed; null when absent or unreadable
    /// (a foreign edit): then there is nothing to finish recording.</summary>
    public static FailoverRecord? FailoverOf(V1Lease lease) => Annotation<FailoverRecord>(lease, Roles.LeaseFailoverAnnotation);

    /// <summary>The annotation's value for a set of actives: the names comma-separated (a pod name has no comma), or null for one pod or none.</summary>
    public static string? ActivesValue(IReadOnlyList<string>? actives) => actives is { Count: > 1 } ? string.Join(',', actives) : null;

    /// <summary>
    /// The set of actives the Lease records, the holder first; null when it records none beyond the holder. A set that
    /// does not start with the holder (a foreign edit of one of them) is not trusted: the holder alone is the set then,
    /// which can only demote pods, never make more active.
    /// </summary>
    public static IReadOnlyList<string>? ActivesOf(V1Lease lease)
    {
        if (lease.Metadata?.Annotations?.TryGetValue(Roles.LeaseActivesAnnotation, out var value) != true) return null;
        var names = value!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal).ToList();
        return names.Count > 1 && names[0] == lease.Spec?.HolderIdentity ? names : null;
    }

    /// <summary>The fencing in progress; null when absent or unreadable.</summary>
    public static FencingRecord? FencingOf(V1Lease lease) => Annotation<FencingRecord>(lease, Roles.LeaseFencingAnnotation);

    private static T? Annotation<T>(V1Lease lease, string key) where T : class
    {
        if (lease.Metadata?.Annotations?.TryGetValue(key, out var json) != true) return null;
        try
        {
            return KubernetesJson.Deserialize<T>(json);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    public static string GroupLabelValue(string groupName) => groupName.Length <= 63 ? groupName : "";
}
