using FailoverAgent.Fencing;

namespace FailoverAgent.Tests;

/// <summary>Helpers of the fencing machine's tests: a fake monotonic clock (plain TimeSpans), no I/O, no waiting.</summary>
public abstract class FencingMachineTestBase
{
    protected const string Me = "pod-a";
    protected static readonly TimeSpan D = TimeSpan.FromSeconds(15);   // margin 3 s: deadline = start + 12 s; renew every 5 s
    protected readonly FencingMachine machine = new(Me);

    protected static TimeSpan S(double seconds) => TimeSpan.FromSeconds(seconds);

    protected static LeaseSnapshot Lease(string? holder, long term, string rv = "1", string? failoverReason = null, string? fencingReason = null) =>
        new(holder, term, D, rv, failoverReason, failoverReason is null ? null : term, fencingReason);

    /// <summary>Named in term 3 at t=0, confirmed by a renewal that started at t=0 and answered at t=0.1.</summary>
    protected void BecomeActive(long term = 3, string? reason = null)
    {
        var observed = Lease(Me, term, failoverReason: reason);
        Assert.IsType<RenewLease>(Assert.Single(machine.OnLeaseObserved(observed, S(0))));
        Assert.IsType<Promote>(Assert.Single(machine.OnRenewalSucceeded(observed with { ResourceVersion = "2" }, S(0), S(0.1))));
    }
}
