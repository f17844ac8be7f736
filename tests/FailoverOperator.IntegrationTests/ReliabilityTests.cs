using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;
using FailoverOperator.Testing;
using k8s;
using k8s.Models;

namespace FailoverOperator.IntegrationTests;

/// <summary>
/// The faults of the reliability issue, each reproduced on the real API server: API outages seen by one
/// operator (through a proxy the test cuts), a failover whose record could not be written, a leader
/// hand-over during the failover delay.
/// </summary>
[Collection(ControlPlaneCollection.Name)]
public class ReliabilityTests(ControlPlane plane, ITestOutputHelper output) : ClusterTest(plane, output)
{
    private string[] ElectionArgs => ["--leader-elect=true", $"--leader-election-namespace={Ns}", "--leader-election-lease-seconds=6"];

    [Fact]
    public async Task AStandbyCutOffFromTheApiServerKeepsTryingAndTakesOverAfterwards()
    {
        await CreatePodsAsync("db", 3);
        await CreateGroupAsync("db", "db");
        var (proxy, kubeconfig) = StartProxy();
        var a = await StartOperatorAsync("operator-a", ElectionArgs);
        var first = await WaitForActiveAsync("db", "db");
        var b = await StartOperatorAsync("operator-b", ElectionArgs, kubeconfig: kubeconfig);

        // Refused connections while it waits to lead: KubernetesClient's elector let them escape and
        // left a live process with no election at all.
        proxy.Cut();
        await Task.Delay(TimeSpan.FromSeconds(3)); // the length of the outage is the stimulus
        proxy.Restore();

        await a.KillAsync();
        await Wait.UntilAsync(b.IsLeaderAsync, TimeSpan.FromSeconds(6 + 5), "operator-b to take over from the killed leader");
        await Kubelet.SetReadyAsync(first, false);
        await WaitForActiveAsync("db", "db", x => x != first);
        Assert.False(b.HasExited);
        Assert.Contains("leader election: cannot reach the Lease", b.Log);
    }

    [Fact]
    public async Task ALeaderRidesOutABlipShorterThanItsRenewDeadlineAndStepsDownAfterALongerOne()
    {
        await CreatePodsAsync("db", 3);
        await CreateGroupAsync("db", "db");
        var (proxy, kubeconfig) = StartProxy();
        var a = await StartOperatorAsync("operator-a", ElectionArgs, kubeconfig: kubeconfig);
        await WaitForActiveAsync("db", "db");
        var b = await StartOperatorAsync("operator-b", ElectionArgs);
        // The blip starts right after a renewal, so its length alone decides: 1.5 s without the API
        // server, well under the 4 s renew deadline of a 6 s lease, and it keeps leading.
        var first = (await Client.CoordinationV1.ReadNamespacedLeaseAsync("failover-operator-leader", Ns)).Spec;
        V1LeaseSpec before = first;
        await Wait.UntilAsync(async () => (before = (await Client.CoordinationV1.ReadNamespacedLeaseAsync("failover-operator-leader", Ns)).Spec).RenewTime > first.RenewTime,
            Wait.Default, "operator-a to renew once");
        proxy.Cut();
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // the length of the outage is the stimulus
        proxy.Restore();
        await Wait.UntilAsync(async () =>
        {
            var spec = (await Client.CoordinationV1.ReadNamespacedLeaseAsync("failover-operator-leader", Ns)).Spec;
            return spec.HolderIdentity == "operator-a" && spec.RenewTime > before.RenewTime && spec.LeaseTransitions == before.LeaseTransitions;
        }, Wait.Default, "operator-a to renew again after the blip, still leader");
        Assert.False(a.HasExited);
        Assert.True(await a.IsLeaderAsync());
        Assert.False(await b.IsLeaderAsync());

        // A longer outage: it steps down at the renew deadline and exits, and the other leads.
        proxy.Cut();
        await Wait.UntilAsync(() => Task.FromResult(a.HasExited), TimeSpan.FromSeconds(20), "operator-a to step down and exit");
        Assert.Contains("within the renew deadline", a.Log);
        await Wait.UntilAsync(b.IsLeaderAsync, TimeSpan.FromSeconds(20), "operator-b to lead");
    }

    [Fact]
    public async Task AFailoverWhoseRecordWasNotWrittenIsRecordedByTheNextOperator()
    {
        // An operator that may move the Lease and the labels but not write the group's status: the
        // reconcile dies after the commit, as a kill -9 between the two writes would leave it.
        const string identity = "no-status";
        await GrantAllButStatusAsync(identity);
        await CreatePodsAsync("db", 3);
        await CreateGroupAsync("db", "db");
        var restricted = await StartOperatorAsync(identity, kubeconfig: await ServiceAccountKubeconfigAsync(identity));
        var first = await WaitForLeaseHolderAsync(_ => true);
        await Kubelet.SetReadyAsync(first, false);
        var second = await WaitForLeaseHolderAsync(h => h != first);
        await restricted.KillAsync();
        Assert.Null((await GetGroupAsync("db")).Status?.LastFailover);

        var op = await StartOperatorAsync("full");
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.LastFailover?.Term == 1, Wait.Default,
            "the next operator to record the failover the first one committed");
        var status = (await GetGroupAsync("db")).Status!;
        Assert.Equal((first, second, FailoverReasons.NotReady, 1), (status.LastFailover!.From, status.LastFailover.To, status.LastFailover.Reason, status.FailoverCount));
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.Promoted)).Any(e => e.Message.Contains($"replacing {first}")), Wait.Default,
            "the Promoted event of the failover");
        Assert.Equal(1, await op.MetricAsync($"failover_operator_failovers_total{{namespace=\"{Ns}\",group=\"db\",reason=\"NotReady\"}}"));
    }

    [Fact]
    public async Task ALeaderHandOverDuringTheFailoverDelayDoesNotRestartIt()
    {
        await CreatePodsAsync("db", 3);
        await CreateGroupAsync("db", "db", s => s.FailoverDelaySeconds = 5);
        var a = await StartOperatorAsync("operator-a");
        var first = await WaitForActiveAsync("db", "db");
        await Kubelet.SetReadyAsync(first, false);
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Phase == GroupPhase.FailingOver, Wait.Default,
            "operator-a to start the failover delay");
        var failingOverSeen = DateTime.UtcNow;
        await a.StopGracefullyAsync();

        await StartOperatorAsync("operator-b");
        await WaitForActiveAsync("db", "db", x => x != first);
        var status = (await GetGroupAsync("db")).Status!;
        // operator-b counts from when operator-a saw the failure, before the test saw phase FailingOver.
        Assert.True(status.LastFailover!.DetectedAt <= failingOverSeen, $"detected at {status.LastFailover.DetectedAt:O}, after {failingOverSeen:O}: the delay restarted");
        Assert.True(status.LastFailover.CompletedAt - status.LastFailover.DetectedAt >= TimeSpan.FromSeconds(5),
            $"failed over {status.LastFailover.CompletedAt - status.LastFailover.DetectedAt} after the failure, before the delay");
    }

    private async Task<string> WaitForLeaseHolderAsync(Func<string, bool> accept)
    {
        string? holder = null;
        await Wait.UntilAsync(async () => (holder = (await GetLeaseAsync("db"))?.Spec?.HolderIdentity) is { Length: > 0 } h && accept(h)
            && (await RolesAsync("db"))[h] == Roles.Active, Wait.Default, "a Lease holder labelled active");
        return holder!;
    }

    private async Task GrantAllButStatusAsync(string identity)
    {
        await CreateServiceAccountWithRoleAsync(identity,
            Rule(HighAvailabilityGroup.Group, HighAvailabilityGroup.Plural, "list", "watch"),
            Rule("", "pods", "list", "watch", "patch"),
            Rule("coordination.k8s.io", "leases", "list", "watch", "create", "update"),
            Rule("policy", "poddisruptionbudgets", "list", "watch", "create", "update", "delete"),
            Rule("", "events", "create", "patch"));
        await GrantNodeWatchAsync(identity);
    }
}
