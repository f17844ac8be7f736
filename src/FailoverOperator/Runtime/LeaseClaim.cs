using k8s.Models;

namespace FailoverOperator.Runtime;

/// <summary>
/// The rule of one attempt to take or keep the election Lease (client-go's tryAcquireOrRenew), pure
/// so that every case is a unit test. Expiry is judged on this instance's own monotonic clock: the
/// holder is presumed alive until the record has stayed unchanged, as seen from here, for its
/// lease duration. Clocks of different machines are never compared.
/// </summary>
public static class LeaseClaim
{
    /// <summary>What to write to hold the Lease, or null while another holder's lease is still valid.</summary>
    /// <param name="current">The Lease's spec as just read.</param>
    /// <param name="unchangedFor">How long, on this instance's clock, the record has been what it is now.</param>
    public static V1LeaseSpec? Next(V1LeaseSpec current, string identity, TimeSpan duration, TimeSpan unchangedFor, DateTime now)
    {
        var holder = current.HolderIdentity;
        var ours = holder == identity;
        var vacant = string.IsNullOrEmpty(holder);
        if (!ours && !vacant && unchangedFor < TimeSpan.FromSeconds(current.LeaseDurationSeconds ?? (int)duration.TotalSeconds)) return null;
        return new V1LeaseSpec
        {
            HolderIdentity = identity,
            LeaseDurationSeconds = (int)Math.Ceiling(duration.TotalSeconds),
            AcquireTime = ours ? current.AcquireTime ?? now : now,
            RenewTime = now,
            LeaseTransitions = (current.LeaseTransitions ?? 0) + (ours ? 0 : 1),
        };
    }

    /// <summary>
    /// When a standby should look again: after its retry period, or just after the observed holder's lease
    /// runs out if that comes sooner, so a dead leader is replaced when its lease ends rather than up to a
    /// retry period later.
    /// </summary>
    /// <param name="observed">The record last read, or null when the read failed.</param>
    /// <param name="unchangedFor">How long, on this instance's clock, the record has been what it is now.</param>
    public static TimeSpan NextAttemptIn(V1LeaseSpec? observed, string identity, TimeSpan duration, TimeSpan unchangedFor, TimeSpan retryPeriod)
    {
        if (observed is null || string.IsNullOrEmpty(observed.HolderIdentity) || observed.HolderIdentity == identity) return retryPeriod;
        var expiresIn = TimeSpan.FromSeconds(observed.LeaseDurationSeconds ?? (int)duration.TotalSeconds) - unchangedFor;
        return expiresIn < TimeSpan.Zero || expiresIn + ExpiryMargin >= retryPeriod ? retryPeriod : expiresIn + ExpiryMargin;
    }

    /// <summary>Past the expiry on this clock, so the attempt it schedules finds the lease expired.</summary>
    private static readonly TimeSpan ExpiryMargin = TimeSpan.FromMilliseconds(10);

    /// <summary>A released Lease: no holder, so the next attempt of any instance takes it at once.</summary>
    public static V1LeaseSpec Released(V1LeaseSpec current, DateTime now) => new()
    {
        HolderIdentity = "",
        LeaseDurationSeconds = 1,
        AcquireTime = current.AcquireTime,
        RenewTime = now,
        LeaseTransitions = current.LeaseTransitions,
    };

    /// <summary>Whether two reads show the same record (a renewal changes its renew time).</summary>
    public static bool SameRecord(V1LeaseSpec? a, V1LeaseSpec? b) =>
        a is not null && b is not null && a.HolderIdentity == b.HolderIdentity && a.RenewTime == b.RenewTime
        && a.LeaseTransitions == b.LeaseTransitions && a.LeaseDurationSeconds == b.LeaseDurationSeconds;
}
