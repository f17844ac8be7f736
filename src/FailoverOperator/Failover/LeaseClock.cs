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

    public void OnChanged(V1Lease? old, V1Lease? current)
    {
        if (current is null)
        {
            seen.TryRemove(ObjectKey.Of(old!), out _);
            return;
        }
        var record = Record(current);
        seen.AddOrUpdate(ObjectKey.Of(current), _ => (record, time.GetUtcNow()),
            (_, previous) => previous.Record == record ? previous : (record, time.GetUtcNow()));
    }

    public DateTimeOffset SeenSince(V1Lease lease, DateTimeOffset now) =>
        seen.TryGetValue(ObjectKey.Of(lease), out var entry) && entry.Record == Record(lease) ? entry.SeenAt : now;

    private static string Record(V1Lease lease) =>
        $"{lease.Spec?.HolderIdentity}|{lease.Spec?.RenewTime:O}|{lease.Spec?.LeaseTransitions}|{GroupLease.FencingOf(lease)?.Term}";
}
