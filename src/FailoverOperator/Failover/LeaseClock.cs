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
    private readonly FirstSeen<string> records = new(time);
    // The last renewal by a holder (holder, term, renewTime), kept when the holder is taken away:
    // proof (c) counts from the fenced holder's last renewal.
    private readonly FirstSeen<(string Holder, int Term, DateTime? RenewTime)> renewals = new(time);

    public void OnChanged(V1Lease? old, V1Lease? current)
    {
        if (current is null)
        {
            records.Forget(ObjectKey.Of(old!));
            renewals.Forget(ObjectKey.Of(old!));
            return;
        }
        records.Saw(ObjectKey.Of(current), Record(current));
        if (current.Spec?.HolderIdentity is { Length: > 0 } holder)
        {
            renewals.Saw(ObjectKey.Of(current), (holder, current.Spec.LeaseTransitions ?? 0, current.Spec.RenewTime));
        }
    }

    public DateTimeOffset SeenSince(V1Lease lease, DateTimeOffset now) => records.Since(ObjectKey.Of(lease), Record(lease)) ?? now;

    /// <summary>The last renewal this process saw of the Lease by any holder, when it first saw it (null: none seen).</summary>
    public HolderRenewal? LastRenewal(V1Lease lease) =>
        renewals.Latest(ObjectKey.Of(lease)) is { } seen ? new HolderRenewal(seen.Record.Holder, seen.Record.Term, seen.At) : null;

    private static string Record(V1Lease lease) =>
        $"{lease.Spec?.HolderIdentity}|{lease.Spec?.RenewTime:O}|{lease.Spec?.LeaseTransitions}|{GroupLease.FencingOf(lease)?.Term}";
}

/// <summary>A holder's renewal of a group Lease in a term, and when this process first saw it on its own clock.</summary>
public sealed record HolderRenewal(string Holder, int Term, DateTimeOffset SeenAt);
