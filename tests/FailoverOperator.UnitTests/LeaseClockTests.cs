using FailoverOperator.Failover;
using k8s.Models;

namespace FailoverOperator.UnitTests;

/// <summary>When this process first saw a group Lease's record and its holder's last renewal, on its own clock.</summary>
public class LeaseClockTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private sealed class Clock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = T0;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static V1Lease Lease(string holder, int term, int renewedAtSecond) => new()
    {
        Metadata = new V1ObjectMeta { Name = "db", NamespaceProperty = "ns" },
        Spec = new V1LeaseSpec { HolderIdentity = holder, LeaseTransitions = term, RenewTime = DateTime.UnixEpoch.AddSeconds(renewedAtSecond) },
    };

    [Fact]
    public void TheHoldersLastRenewalIsKeptWhenTheHolderIsTakenAway()
    {
        var clock = new Clock();
        var leases = new LeaseClock(clock);
        leases.OnChanged(null, Lease("a", 4, 100));
        clock.Now = T0.AddSeconds(5);
        var renewed = Lease("a", 4, 105);
        leases.OnChanged(null, renewed);
        clock.Now = T0.AddSeconds(6);
        leases.OnChanged(renewed, renewed);   // the same record again (a resync): not a new sighting
        clock.Now = T0.AddSeconds(7);
        var fenced = Lease("", 4, 107);       // write 1: holder taken away
        leases.OnChanged(renewed, fenced);

        Assert.Equal(new HolderRenewal("a", 4, T0.AddSeconds(5)), leases.LastRenewal(fenced));
        Assert.Equal(T0.AddSeconds(7), leases.SeenSince(fenced, T0.AddSeconds(9)));

        clock.Now = T0.AddSeconds(8);
        leases.OnChanged(fenced, Lease("b", 5, 108));
        Assert.Equal(new HolderRenewal("b", 5, T0.AddSeconds(8)), leases.LastRenewal(fenced));
    }

    [Fact]
    public void ALeaseNeverSeenWithAHolderHasNoRenewalAndADeletedOneForgetsIt()
    {
        var leases = new LeaseClock(new Clock());
        var fenced = Lease("", 4, 100);
        leases.OnChanged(null, fenced);
        Assert.Null(leases.LastRenewal(fenced));

        var held = Lease("a", 4, 101);
        leases.OnChanged(fenced, held);
        leases.OnChanged(held, null);
        Assert.Null(leases.LastRenewal(held));
    }
}
