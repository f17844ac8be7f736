using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;
using FailoverOperator.Testing;
using k8s;

namespace FailoverOperator.IntegrationTests;

/// <summary>
/// Node-loss detection (--node-lease-stale-seconds) on the real API server: the test plays two
/// kubelets' heartbeats (their Leases in kube-node-lease, renewed every 0.5 s) and stops one, as a
/// dead or cut-off kubelet leaves it. The pods' own status is never touched: it still says Ready,
/// which is exactly what a lost node's pods say until the node controller's grace period ends.
/// </summary>
[Collection(ControlPlaneCollection.Name)]
public class NodeLossTests(ControlPlane plane, ITestOutputHelper output) : ClusterTest(plane, output)
{
    private static readonly TimeSpan Beat = TimeSpan.FromSeconds(0.5);
    private const int StaleSeconds = 3;

    private string NodeA => $"{Ns}-a";
    private string NodeB => $"{Ns}-b";

    private async Task CreateMemberAsync(string name, string node) =>
        await Kubelet.CreatePodAsync(name, new Dictionary<string, string> { [FailoverOperator.Testing.Cluster.GroupLabel] = "db" }, node: node);

    private Task<OperatorProcess> StartWithNodeLossDetectionAsync() => StartOperatorAsync(args: [$"--node-lease-stale-seconds={StaleSeconds}"]);

    [Fact]
    public async Task AnActiveWhoseNodeStoppedHeartbeatingIsReplacedByAMemberOnANodeThatStillDoes()
    {
        await using var a = await NodeHeartbeat.StartAsync(Client, NodeA, Beat);
        await using var b = await NodeHeartbeat.StartAsync(Client, NodeB, Beat);
        // Ready the longest first: without the heartbeat rule db-1, on the same node as the active, would be next.
        await CreateMemberAsync("db-0", NodeA);
        await CreateMemberAsync("db-1", NodeA);
        await CreateMemberAsync("db-2", NodeB);
        await CreateGroupAsync("db", "db");
        var op = await StartWithNodeLossDetectionAsync();
        Assert.Equal("db-0", await WaitForActiveAsync("db", "db"));

        a.Stop();
        Assert.Equal("db-2", await WaitForActiveAsync("db", "db", x => x != "db-0"));
        var status = (await GetGroupAsync("db")).Status!;
        Assert.Equal(("db-0", "db-2", FailoverReasons.NodeLost), (status.LastFailover!.From, status.LastFailover.To, status.LastFailover.Reason));
        // Only the heartbeat went: the pods still report Ready, as a lost node's pods do for 40-50 s.
        Assert.True((await Client.CoreV1.ReadNamespacedPodAsync("db-0", Ns)).Status.Conditions.Single(c => c.Type == "Ready").Status == "True");
        // db-1 is on the lost node too: not a Ready standby while nobody vouches for it.
        Assert.Equal(0, status.ReadyStandbys);
    }

    [Fact]
    public async Task AHeartbeatLateByLessThanTheThresholdChangesNothing()
    {
        await using var a = await NodeHeartbeat.StartAsync(Client, NodeA, Beat);
        await using var b = await NodeHeartbeat.StartAsync(Client, NodeB, Beat);
        await CreateMemberAsync("db-0", NodeA);
        await CreateMemberAsync("db-1", NodeB);
        await CreateGroupAsync("db", "db");
        var op = await StartWithNodeLossDetectionAsync();
        Assert.Equal("db-0", await WaitForActiveAsync("db", "db"));
        var before = (await GetLeaseAsync("db"))!.Spec;

        // A gap of half the threshold (the stimulus), then the kubelet renews again.
        a.Stop();
        await Task.Delay(TimeSpan.FromSeconds(StaleSeconds / 2.0));
        var renewals = a.Renewals;
        a.Resume();
        await Wait.UntilAsync(() => Task.FromResult(a.Renewals >= renewals + 2), Wait.Default, "node A to heartbeat again");

        var after = (await GetLeaseAsync("db"))!.Spec;
        Assert.Equal(("db-0", before.LeaseTransitions), (after.HolderIdentity, after.LeaseTransitions));
        Assert.Equal(GroupPhase.Healthy, (await GetGroupAsync("db")).Status!.Phase);
        Assert.DoesNotContain("stopped heartbeating", op.Log);
    }

    [Fact]
    public async Task AMemberWhoseNodeHeartbeatsAgainCountsAsHealthyAgainAtOnce()
    {
        await using var a = await NodeHeartbeat.StartAsync(Client, NodeA, Beat);
        await CreateMemberAsync("db-0", NodeA);
        await CreateMemberAsync("db-1", NodeA);
        await CreateGroupAsync("db", "db");
        var op = await StartWithNodeLossDetectionAsync();
        Assert.Equal("db-0", await WaitForActiveAsync("db", "db"));

        // Every member is on the lost node: nothing to promote, the group says so and keeps its active.
        a.Stop();
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.ActiveFailure?.Reason == FailoverReasons.NodeLost, Wait.Default,
            "the group to report its active's node lost");
        Assert.Equal(GroupPhase.Degraded, (await GetGroupAsync("db")).Status!.Phase);

        // Nothing else changes when the heartbeat comes back: the heartbeat itself must wake the group.
        a.Resume();
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status is { Phase: GroupPhase.Healthy, ActiveFailure: null, ReadyStandbys: 1 },
            Wait.Default, "the group to be Healthy again with db-1 a Ready standby");
        Assert.Equal("db-0", (await GetLeaseAsync("db"))!.Spec.HolderIdentity);
    }
}
