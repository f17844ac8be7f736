using System.Diagnostics;
using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;
using FailoverOperator.Testing;
using k8s;
using k8s.Models;

namespace FailoverOperator.IntegrationTests;

/// <summary>
/// spec.fencing: Agent, on the real API server. The test writes what a pod's agent would write (its
/// acknowledgement) and what a kubelet would report, so each proof of the wait rule is shown alone.
/// </summary>
[Collection(ControlPlaneCollection.Name)]
public class FencedFailoverTests(ControlPlane plane, ITestOutputHelper output) : ClusterTest(plane, output)
{
    private async Task<string> StartAgentGroupAsync(int leaseSeconds)
    {
        await CreatePodsAsync("db", 3);
        await CreateGroupAsync("db", "db", s => { s.Fencing = FencingModes.Agent; s.LeaseDurationSeconds = leaseSeconds; });
        await StartOperatorAsync();
        return await WaitForActiveAsync("db", "db");
    }

    /// <summary>The fencing record while the Lease has no holder; null otherwise.</summary>
    private async Task<FencingRecord?> FencingAsync() =>
        await GetLeaseAsync("db") is { } lease && string.IsNullOrEmpty(lease.Spec?.HolderIdentity) ? GroupLease.FencingOf(lease) : null;

    private async Task<FencingRecord> WaitForFencingAsync()
    {
        FencingRecord? fencing = null;
        await Wait.UntilAsync(async () => (fencing = await FencingAsync()) is not null, Wait.Default, "the Lease taken away from the failed active");
        return fencing!;
    }

    [Fact]
    public async Task TheNewActiveIsPromotedOnlyAfterTheOldOnesAgentAcknowledges()
    {
        var first = await StartAgentGroupAsync(leaseSeconds: 300);
        await Kubelet.SetReadyAsync(first, false);

        var fencing = await WaitForFencingAsync();
        Assert.Equal((first, 0, FailoverReasons.NotReady), (fencing.From, fencing.Term, fencing.Reason));
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Phase == GroupPhase.FencingOldActive, Wait.Default, "phase FencingOldActive");
        Assert.DoesNotContain(Roles.Active, (await RolesAsync("db")).Values);
        Assert.NotNull(await FencingAsync()); // no proof yet: still waiting

        await Client.CoreV1.PatchNamespacedPodAsync(new V1Patch(new { metadata = new { annotations = new Dictionary<string, string> { [Roles.DemotedTermAnnotation] = "0" } } },
            V1Patch.PatchType.MergePatch), first, Ns);
        var second = await WaitForActiveAsync("db", "db", x => x != first);
        var status = (await GetGroupAsync("db")).Status!;
        Assert.Equal((first, second, 1, 1), (status.LastFailover!.From, status.LastFailover.To, status.LastFailover.Term, status.FailoverCount));
        Assert.Equal(1, (await GetLeaseAsync("db"))!.Spec.LeaseTransitions);
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.Fenced)).Any(e => e.Message.Contains("acknowledged giving up term 0")),
            Wait.Default, "a Fenced event naming the acknowledgement");
    }

    [Fact]
    public async Task TerminatedContainersAreProofAtOnce()
    {
        var first = await StartAgentGroupAsync(leaseSeconds: 300);
        await Kubelet.SetFailedAsync(first);
        await WaitForActiveAsync("db", "db", x => x != first);
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.Fenced)).Any(e => e.Message.Contains("containers have terminated")),
            Wait.Default, "a Fenced event naming the terminated containers");
    }

    [Fact]
    public async Task ADeletedPodIsNoProofTheNewActiveWaitsOutTheLease()
    {
        // Nobody renews here, so the Lease may also expire before the deletion is seen: either way the
        // deleted pod is being fenced, and only the expiry may end the wait.
        const int leaseSeconds = 5;
        var first = await StartAgentGroupAsync(leaseSeconds);
        // The operator saw its election write (the holder's last renewal: nobody renewed since) before this test saw it active.
        var electedAt = Stopwatch.GetTimestamp();
        // Force-deleted: on a cut-off node its process may still run, so only the expiry may end the wait.
        await Client.CoreV1.DeleteNamespacedPodAsync(first, Ns, new V1DeleteOptions { GracePeriodSeconds = 0 });
        await WaitForFencingAsync();
        await WaitForActiveAsync("db", "db", x => x != first);
        var waited = Stopwatch.GetElapsedTime(electedAt);
        Output.WriteLine($"promoted {waited.TotalMilliseconds:0} ms after the election was seen");
        // Proof (c) counts the lease from the holder's last renewal as the operator saw it, a little before this test did.
        Assert.True(waited >= TimeSpan.FromSeconds(leaseSeconds - 1), $"promoted after {waited.TotalMilliseconds:0} ms, before the old lease expired");
        // Events are written off the reconcile path: wait for it rather than read it once.
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.Fenced)).Any(e => e.Message.Contains("its lease expired")),
            Wait.Default, "a Fenced event naming the expiry");
    }

    [Fact]
    public async Task AnActiveWhoseAgentStopsRenewingIsFencedAfterItsLease()
    {
        // Nobody plays the agent here: the elected pod's Lease is never renewed. Its expiry is also the proof
        // (counted from the same last renewal), so the Lease is without a holder only for a moment, and the
        // next active's lease expires in turn: the Events tell what happened to the first.
        var first = await StartAgentGroupAsync(leaseSeconds: 3);
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.FencingStarted)).Any(e => e.InvolvedObject.Kind == HighAvailabilityGroup.KindName
                && e.Message.StartsWith($"active pod {first} is unhealthy (its agent did not renew the Lease within its duration)", StringComparison.Ordinal)),
            Wait.Default, $"FencingStarted for {first}: its Lease was not renewed");
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.Fenced)).Any(e => e.InvolvedObject.Kind == HighAvailabilityGroup.KindName
                && e.Message.StartsWith($"pod {first} stopped acting in term 0: its lease expired", StringComparison.Ordinal)),
            Wait.Default, $"Fenced for {first} in term 0 by the expiry");
    }

    [Fact]
    public async Task AGroupInLabelModeWritesNothingWhileHealthy()
    {
        await CreatePodsAsync("db", 3);
        await CreateGroupAsync("db", "db", s => s.LeaseDurationSeconds = 2);
        var op = await StartOperatorAsync();
        await WaitForActiveAsync("db", "db");
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Phase == GroupPhase.Healthy, Wait.Default, "phase Healthy");
        var writes = await WritesAsync(op);
        // Three lease durations: an operator that renewed at half the lease would have written three times.
        await Task.Delay(TimeSpan.FromSeconds(6));
        Assert.Equal(writes, await WritesAsync(op));
    }

    private static async Task<double> WritesAsync(OperatorProcess op) =>
        (await op.ScrapeAsync()).Series.Where(s => s.Key.StartsWith("failover_operator_api_requests_total", StringComparison.Ordinal)
            && (s.Key.Contains("\"PUT\"") || s.Key.Contains("\"PATCH\"") || s.Key.Contains("\"POST\""))).Sum(s => s.Value);
}
