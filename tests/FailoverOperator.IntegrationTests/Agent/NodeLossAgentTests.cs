using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;
using FailoverOperator.Testing;

namespace FailoverOperator.IntegrationTests.Agent;

/// <summary>
/// Node loss in fencing mode Agent, on the real API server: the operator with
/// --node-lease-stale-seconds, an agent process per pod, and two played node heartbeats. A stopped
/// kubelet whose pods still reach the API server is fenced by the agent's acknowledgement; a
/// partition (heartbeat and the agent's API traffic both cut) by the expiry of the old active's lease,
/// and its agent demoted itself before the new active's promote hook ran.
/// </summary>
[Collection(ControlPlaneCollection.Name)]
public class NodeLossAgentTests(ControlPlane plane, ITestOutputHelper output) : AgentTest(plane, output)
{
    private const int StaleSeconds = 2;

    private async Task<(NodeHeartbeat A, NodeHeartbeat B)> StartNodesAndPodsAsync()
    {
        var a = await NodeHeartbeat.StartAsync(Client, $"{Ns}-a", TimeSpan.FromSeconds(0.5));
        var b = await NodeHeartbeat.StartAsync(Client, $"{Ns}-b", TimeSpan.FromSeconds(0.5));
        await Kubelet.CreatePodAsync("db-0", new Dictionary<string, string> { [FailoverOperator.Testing.Cluster.GroupLabel] = Group }, node: $"{Ns}-a");
        await Kubelet.CreatePodAsync("db-1", new Dictionary<string, string> { [FailoverOperator.Testing.Cluster.GroupLabel] = Group }, node: $"{Ns}-b");
        return (a, b);
    }

    [Fact]
    public async Task AStoppedKubeletWhosePodsStillReachTheApiServerIsFencedByTheAgentsAcknowledgement()
    {
        var (a, b) = await StartNodesAndPodsAsync();
        await using var nodeA = a;
        await using var nodeB = b;
        // A lease far longer than the test: only the acknowledgement can end the wait in time.
        StartAgent("sidecar", "db-0", Hooks());
        StartAgent("sidecar", "db-1", Hooks());
        await StartOperatorAsync(args: [$"--node-lease-stale-seconds={StaleSeconds}"]);
        await CreateGroupAsync(Group, Group, s => { s.Fencing = FencingModes.Agent; s.LeaseDurationSeconds = 300; });
        Assert.Equal("db-0", await WaitForActiveAsync(Group, Group));
        var term = await ActiveTermAsync("db-0");

        nodeA.Stop();
        await WaitHookAsync($"active {term + 1} NodeLost false db-1");
        var lines = HookLines.ToList();
        Assert.True(lines.IndexOf($"standby {term} NodeLost false db-0") is >= 0 and var demoted && demoted < lines.IndexOf($"active {term + 1} NodeLost false db-1"),
            $"db-0's demote hook ran before db-1's promote hook: [{string.Join(" | ", lines)}]");
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.Fenced)).Any(e => e.Message.Contains("acknowledged")), Wait.Default,
            "the Fenced event naming the acknowledgement as the proof");
        Assert.Equal(FailoverReasons.NodeLost, (await GetGroupAsync(Group)).Status!.LastFailover!.Reason);
    }

    [Fact]
    public async Task APartitionedActiveDemotesItselfAndIsReplacedOnlyAfterItsLeaseExpired()
    {
        var (a, b) = await StartNodesAndPodsAsync();
        await using var nodeA = a;
        await using var nodeB = b;
        const int leaseSeconds = 4;
        var (proxy, kubeconfig) = StartProxy();
        StartAgent("sidecar", "db-0", Hooks(), kubeconfig);
        StartAgent("sidecar", "db-1", Hooks());
        await StartOperatorAsync(args: [$"--node-lease-stale-seconds={StaleSeconds}"]);
        await CreateGroupAsync(Group, Group, s => { s.Fencing = FencingModes.Agent; s.LeaseDurationSeconds = leaseSeconds; });
        Assert.Equal("db-0", await WaitForActiveAsync(Group, Group));
        var term = await ActiveTermAsync("db-0");

        // Node A is partitioned: its kubelet's heartbeat and its pods' API traffic stop together.
        nodeA.Stop();
        proxy.Cut();
        await WaitHookAsync($"active {term + 1} NodeLost false db-1");
        var lines = HookLines.ToList();
        var selfDemotion = lines.FindIndex(l => l.StartsWith($"standby {term} ", StringComparison.Ordinal) && l.EndsWith(" db-0", StringComparison.Ordinal));
        Assert.True(selfDemotion >= 0 && selfDemotion < lines.IndexOf($"active {term + 1} NodeLost false db-1"),
            $"the cut-off db-0 demoted itself before db-1 was promoted: [{string.Join(" | ", lines)}]");
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.Fenced)).Any(e => e.Message.Contains("expired")), Wait.Default,
            "the Fenced event naming the lease's expiry as the proof");

        // The partition heals: db-0 rejoins as a standby, never active in the old term again.
        proxy.Restore();
        nodeA.Resume();
        await Wait.UntilAsync(async () => (await GetGroupAsync(Group)).Status is { Phase: GroupPhase.Healthy, ReadyStandbys: 1 }, Wait.Default,
            "db-0 back as a Ready standby");
        Assert.Equal("db-1", (await GetLeaseAsync(Group))!.Spec.HolderIdentity);
        Assert.DoesNotContain(HookLines.Skip(selfDemotion + 1), l => l.StartsWith($"active {term} ", StringComparison.Ordinal));
    }
}
