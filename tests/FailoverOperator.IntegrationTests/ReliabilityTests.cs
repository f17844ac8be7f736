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

        // A longer outage: it steps down at the renew deadline, and the other, which can still reach the
        // API server, leads once the record has gone a whole lease unrenewed.
        proxy.Cut();
        await Wait.UntilAsync(async () => a.HasExited || !await a.IsLeaderAsync(), TimeSpan.FromSeconds(20), "operator-a to step down");
        Assert.False(a.HasExited, "operator-a exited instead of waiting to lead again");
        Assert.Contains("within the renew deadline", a.Log);
        await Wait.UntilAsync(b.IsLeaderAsync, TimeSpan.FromSeconds(20), "operator-b to lead");
        // Back in reach, operator-a finds the Lease taken and leaves it alone: a standby, not a second leader.
        proxy.Restore();
        await Wait.UntilAsync(() => Task.FromResult(a.Log.Contains("leader is now operator-b")), Wait.Default, "operator-a to read the Lease again");
        Assert.False(a.HasExited);
        Assert.False(await a.IsLeaderAsync());
        Assert.Equal("operator-b", (await Client.CoordinationV1.ReadNamespacedLeaseAsync("failover-operator-leader", Ns)).Spec.HolderIdentity);
    }

    [Fact]
    public async Task ALeaderCutOffLongerThanItsRenewDeadlineTakesItsOwnLeaseBackWhenTheApiServerAnswers()
    {
        await CreatePodsAsync("db", 3);
        await CreateGroupAsync("db", "db");
        var (proxy, kubeconfig) = StartProxy();
        var a = await StartOperatorAsync("operator-a", ElectionArgs, kubeconfig: kubeconfig);
        var first = await WaitForActiveAsync("db", "db");
        var before = (await Client.CoordinationV1.ReadNamespacedLeaseAsync("failover-operator-leader", Ns)).Spec;

        proxy.Cut();
        await Wait.UntilAsync(async () => a.HasExited || !await a.IsLeaderAsync(), TimeSpan.FromSeconds(20), "operator-a to step down at its renew deadline");
        Assert.False(a.HasExited, "operator-a exited instead of waiting to lead again");
        // The active fails while no operator can act; the process that stepped down (it used to exit, and a
        // restarted one would wait out a whole lease with cold caches) handles it once the API answers.
        await Kubelet.SetReadyAsync(first, false);
        proxy.Restore();
        await WaitForActiveAsync("db", "db", x => x != first);
        Assert.False(a.HasExited);
        Assert.True(await a.IsLeaderAsync());
        var after = (await Client.CoordinationV1.ReadNamespacedLeaseAsync("failover-operator-leader", Ns)).Spec;
        Assert.Equal(("operator-a", before.LeaseTransitions), (after.HolderIdentity, after.LeaseTransitions));
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
        // A failover's Events come before its status: the one that cannot record the status has still
        // told the user (they used to be written after it, so a crash between the two lost them).
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.Promoted)).Count(e => e.Message.Contains("term 1")) == 2, Wait.Default,
            "the Promoted events of term 1 (group and pod) from the operator that cannot write the status");
        await restricted.KillAsync();
        Assert.Null((await GetGroupAsync("db")).Status?.LastFailover);

        var op = await StartOperatorAsync("full");
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.LastFailover?.Term == 1, Wait.Default,
            "the next operator to record the failover the first one committed");
        var status = (await GetGroupAsync("db")).Status!;
        Assert.Equal((first, second, FailoverReasons.NotReady, 1), (status.LastFailover!.From, status.LastFailover.To, status.LastFailover.Reason, status.FailoverCount));
        Assert.Equal(1, await op.MetricAsync($"failover_operator_failovers_total{{namespace=\"{Ns}\",group=\"db\",reason=\"NotReady\"}}"));
        // Recorded exactly once although both operators (one of them many times over) wrote them.
        foreach (var reason in new[] { EventReasons.Promoted, EventReasons.FailoverStarted })
        {
            var written = (await EventsAsync(reason)).Where(e => e.InvolvedObject.Kind == HighAvailabilityGroup.KindName).ToList();
            Assert.Equal([1], written.Select(e => e.Count ?? 1));
        }
    }

    [Fact]
    public async Task ALeaderHandOverDuringTheFailoverDelayDoesNotRestartIt()
    {
        var (a, first) = await FailTheActiveDuringADelayAsync();
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

    /// <summary>A group with a 5 s failover delay whose active has failed: operator-a is waiting the delay out.</summary>
    private async Task<(OperatorProcess Operator, string FailedActive)> FailTheActiveDuringADelayAsync()
    {
        await CreatePodsAsync("db", 3);
        await CreateGroupAsync("db", "db", s => s.FailoverDelaySeconds = 5);
        var a = await StartOperatorAsync("operator-a");
        var first = await WaitForActiveAsync("db", "db");
        await Kubelet.SetReadyAsync(first, false);
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Phase == GroupPhase.FailingOver, Wait.Default,
            "operator-a to start the failover delay");
        return (a, first);
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

    [Fact]
    public async Task AFailureThatEndedWhileNoOperatorLookedDoesNotShortenTheDelayOfTheNextOne()
    {
        var (a, first) = await FailTheActiveDuringADelayAsync();
        await a.StopGracefullyAsync();

        // With no operator running, the active recovers and fails again: a new failure, a new delay.
        await Kubelet.SetReadyAsync(first, true);
        await Task.Delay(TimeSpan.FromSeconds(1.1)); // the stimulus: a Ready transition in a later second (their resolution)
        var secondFailure = DateTime.UtcNow;
        await Kubelet.SetReadyAsync(first, false);

        await StartOperatorAsync("operator-b");
        await WaitForActiveAsync("db", "db", x => x != first);
        var detected = (await GetGroupAsync("db")).Status!.LastFailover!.DetectedAt!.Value;
        Assert.True(detected >= secondFailure, $"detected at {detected:O}, before the second failure at {secondFailure:O}: the first one's delay was counted");
    }
}
