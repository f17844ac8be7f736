using FailoverOperator.Failover;
using k8s.Models;

namespace FailoverOperator.UnitTests;

/// <summary>Node-loss detection: a node counts as lost when its heartbeat Lease stayed unchanged, on our clock, for the threshold.</summary>
public class NodeHeartbeatsTests
{
    private static readonly TimeSpan Threshold = TimeSpan.FromSeconds(12);
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private sealed class Clock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = T0;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static V1Lease Heartbeat(string node, int renewedAtSecond) => new()
    {
        Metadata = new V1ObjectMeta { Name = node, NamespaceProperty = NodeHeartbeats.Namespace },
        // A renewTime far in the past or future must not matter: only when the record changed, as seen here.
        Spec = new V1LeaseSpec { HolderIdentity = node, RenewTime = DateTime.UnixEpoch.AddSeconds(renewedAtSecond) },
    };

    [Fact]
    public void ANodeIsLostOnceItsLeaseStayedUnchangedForTheThresholdOnThisClock()
    {
        var clock = new Clock();
        var heartbeats = new NodeHeartbeats(Threshold, clock);
        heartbeats.Observe(null, Heartbeat("n1", 0));

        clock.Now = T0 + TimeSpan.FromSeconds(11.9);
        Assert.False(heartbeats.IsLost("n1", clock.Now));
        Assert.Equal(TimeSpan.FromSeconds(0.1), heartbeats.LostIn("n1", clock.Now));
        clock.Now = T0 + Threshold;
        Assert.True(heartbeats.IsLost("n1", clock.Now));
        Assert.Equal(TimeSpan.Zero, heartbeats.LostIn("n1", clock.Now));
    }

    [Fact]
    public void ARenewalStartsTheCountAgainAndTheSameRecordSeenAgainDoesNot()
    {
        var clock = new Clock();
        var heartbeats = new NodeHeartbeats(Threshold, clock);
        heartbeats.Observe(null, Heartbeat("n1", 0));
        clock.Now = T0 + TimeSpan.FromSeconds(10);
        heartbeats.Observe(Heartbeat("n1", 0), Heartbeat("n1", 10));
        clock.Now = T0 + TimeSpan.FromSeconds(20);
        // A relist delivers the same record again: not a heartbeat.
        heartbeats.Observe(Heartbeat("n1", 10), Heartbeat("n1", 10));
        Assert.False(heartbeats.IsLost("n1", clock.Now));
        clock.Now = T0 + TimeSpan.FromSeconds(22);
        Assert.True(heartbeats.IsLost("n1", clock.Now));
    }

    [Fact]
    public void ANodeWithoutAKnownLeaseIsNeverJudged()
    {
        var clock = new Clock();
        var heartbeats = new NodeHeartbeats(Threshold, clock);
        heartbeats.Observe(null, Heartbeat("n1", 0));
        clock.Now = T0 + TimeSpan.FromHours(1);
        Assert.False(heartbeats.IsLost("n2", clock.Now));
        Assert.False(heartbeats.IsLost(null, clock.Now));
        Assert.Null(heartbeats.LostIn("n2", clock.Now));
        // A deleted Lease (the Node was deleted) is forgotten, not lost.
        heartbeats.Observe(Heartbeat("n1", 0), null);
        Assert.False(heartbeats.IsLost("n1", clock.Now));
    }

    [Fact]
    public void OnlyAHeartbeatThatComesBackAfterTheNodeCountedAsLostIsReported()
    {
        var clock = new Clock();
        var heartbeats = new NodeHeartbeats(Threshold, clock);
        Assert.Null(heartbeats.Observe(null, Heartbeat("n1", 0)));
        clock.Now = T0 + TimeSpan.FromSeconds(10);
        Assert.Null(heartbeats.Observe(Heartbeat("n1", 0), Heartbeat("n1", 10)));
        clock.Now = T0 + TimeSpan.FromSeconds(30);
        Assert.Equal("n1", heartbeats.Observe(Heartbeat("n1", 10), Heartbeat("n1", 30)));
    }
}
