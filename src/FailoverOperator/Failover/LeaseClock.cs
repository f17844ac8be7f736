using System.Collections.Concurrent;
using FailoverOperator.Runtime;
using k8s.Models;

namespace FailoverOperator.Failover;

/// <summary>
/// When this process first saw each group Lease as it is now (holder, renewal, term, fencing), on its
/// own clock, from the watch (client-go's observedTime). Expiry is judged from this, never from the
/// renewTime another machine wrote. Informers run on standby replicas too, so a new leader starts with
/// these times already known; one it never saw counts from the first look, which only waits longer.
/// </summary>
public sealed class LeaseClock(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, (string Record, DateTimeOffset SeenAt)> seen = new();
    // Per Lease, the last renewal by a holder (holder, term, renewTime) and when it was first seen. Kept
    // when the holder is taken away: proof (c) counts from the fenced holder's last renewal.
    private readonly ConcurrentDictionary<string, (string Renewal, HolderRenewal Seen)> renewals = new();

    public void OnChanged(V1Lease? old, V1Lease? current)
    {
        if (current is null)
        {
            seen.TryRemove(ObjectKey.Of(old!), out _);
            renewals.TryRemove(ObjectKey.Of(old!), out _);
            return;
        }
        var now = time.GetUtcNow();
        var record = Record(current);
        seen.AddOrUpdate(ObjectKey.Of(current), _ => (record, now),
            (_, previous) => previous.Record == record ? previous : (record, now));
        if (current.Spec?.HolderIdentity is { Length: > 0 } holder)
        {
            var renewal = $"{holder}|{current.Spec.LeaseTransitions}|{current.Spec.RenewTime:O}";
            var entry = (renewal, new HolderRenewal(holder, current.Spec.LeaseTransitions ?? 0, now));
            renewals.AddOrUpdate(ObjectKey.Of(current), _ => entry, (_, previous) => previous.Renewal == renewal ? previous : entry);
        }
    }

    public DateTimeOffset SeenSince(V1Lease lease, DateTimeOffset now) =>
        seen.TryGetValue(ObjectKey.Of(lease), out var entry) && entry.Record == Record(lease) ? entry.SeenAt : now;

    /// <summary>The last renewal this process saw of the Lease by any holder, when it first saw it (null: none seen).</summary>
    public HolderRenewal? LastRenewal(V1Lease lease) =>
        renewals.TryGetValue(ObjectKey.Of(lease), out var entry) ? entry.Seen : null;

    private static string Record(V1Lease lease) =>
        $"{lease.Spec?.HolderIdentity}|{lease.Spec?.RenewTime:O}|{lease.Spec?.LeaseTransitions}|{GroupLease.FencingOf(lease)?.Term}";
}

/// <summary>A holder's renewal of a group Lease in a term, and when this process first saw it on its own clock.</summary>
public sealed record HolderRenewal(string Holder, int Term, DateTimeOffset SeenAt);
