using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;
using FailoverOperator.Testing;

namespace FailoverOperator.IntegrationTests.Agent;

/// <summary>
/// Agent mode's failover with an acknowledging agent, on the real API server with the operator and an agent
/// process per pod: the old active's agent demotes, then writes the Lease to the pod the operator's write 1
/// chose (the hand-over, docs/fencing.md); the operator only labels it and records the failover. When
/// anything wrote the Lease in between, the hand-over is refused and the pod annotation is the proof.
/// Leases far longer than the tests: only the agent can end the wait in time.
/// </summary>
[Collection(ControlPlaneCollection.Name)]
public class HandOverAgentTests(ControlPlane plane, ITestOutputHelper output) : AgentTest(plane, output)
{
    private async Task<(string Old, string New, int Term)> StartGroupAsync(string[] hooks)
    {
        foreach (var pod in new[] { "db-0", "db-1" })
        {
            await Kubelet.CreatePodAsync(pod, new Dictionary<string, string> { [FailoverOperator.Testing.Cluster.GroupLabel] = Group });
            StartAgent("sidecar", pod, hooks);
        }
        await StartOperatorAsync();
        await CreateGroupAsync(Group, Group, s => { s.Fencing = FencingModes.Agent; s.LeaseDurationSeconds = 300; });
        var old = await WaitForActiveAsync(Group, Group);
        return (old, old == "db-0" ? "db-1" : "db-0", await ActiveTermAsync(old));
    }

    [Fact]
    public async Task TheDemotedAgentHandsTheLeaseToTheChosenPodAndTheOperatorOnlyLabelsIt()
    {
        var (old, next, term) = await StartGroupAsync(Hooks());

        await Kubelet.SetReadyAsync(old, false);
        await WaitHookAsync($"active {term + 1} NotReady false {next}");

        var lines = HookLines.ToList();
        Assert.True(lines.IndexOf($"standby {term} NotReady false {old}") is >= 0 and var demoted && demoted < lines.IndexOf($"active {term + 1} NotReady false {next}"),
            $"{old}'s demote hook ran before {next}'s promote hook: [{string.Join(" | ", lines)}]");
        // The Lease names the new active in the next term, written by the old active's agent: its failover record says so.
        var lease = (await GetLeaseAsync(Group))!;
        Assert.Equal((next, term + 1), (lease.Spec.HolderIdentity, lease.Spec.LeaseTransitions));
        Assert.False(lease.Metadata.Annotations.ContainsKey(Roles.LeaseFencingAnnotation));
        var record = GroupLease.FailoverOf(lease)!;
        Assert.Equal((old, next, FailoverReasons.NotReady, term + 1, FencingProofs.HandedOver), (record.From, record.To, record.Reason, record.Term, record.Proof));
        Assert.NotNull(record.DetectedAt);
        Assert.Contains($"HANDED OVER the Lease to {next} in term {term + 1}", AgentLogs());

        // The operator labels the new active and records the failover, with the proof and the Event that names it.
        Assert.Equal(next, await WaitForActiveAsync(Group, Group, a => a == next));
        await Wait.UntilAsync(async () => (await GetGroupAsync(Group)).Status?.LastFailover?.Term == term + 1, Wait.Default, "the failover recorded");
        var status = (await GetGroupAsync(Group)).Status!;
        Assert.Equal((next, FencingProofs.HandedOver, GroupPhase.Healthy), (status.ActivePod, status.LastFailover!.Proof, status.Phase));
        Assert.NotNull(status.LastFailover.DurationMilliseconds);
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.Fenced)).Any(e =>
                e.Message == $"pod {old} stopped acting in term {term}: its agent acknowledged giving up term {term} and handed the Lease to {next}"),
            Wait.Default, "the Fenced event naming the hand-over");
        // The acknowledgement is still on the pod (a restarted agent reads it), written after the hand-over.
        await Wait.UntilAsync(async () => await DemotedTermAsync(old) == term.ToString(System.Globalization.CultureInfo.InvariantCulture), Wait.Default,
            $"{old} annotated demoted-term={term}");
    }

    [Fact]
    public async Task AHandOverRefusedBecauseTheLeaseChangedFallsBackToTheAcknowledgement()
    {
        // A demote hook long enough for the test to write the Lease between write 1 and the hand-over.
        var hooks = Hooks().Select(h => h.StartsWith("--on-demote=", StringComparison.Ordinal) ? h.Replace("sleep 0.5", "sleep 4") : h).ToArray();
        var (old, next, term) = await StartGroupAsync(hooks);

        await Kubelet.SetReadyAsync(old, false);
        await Wait.UntilAsync(async () => GroupLease.FencingOf((await GetLeaseAsync(Group))!) is { To: { } to } && to == next, Wait.Default,
            $"write 1: the Lease taken from {old}, naming {next}");
        await UpdateLeaseAsync(l => l.Metadata.Labels["touched"] = "between-write-1-and-the-hand-over");
        Assert.False(HookLines.Contains($"standby {term} NotReady false {old}"), "the demote hook ended before the Lease was touched: the test proves nothing");

        await WaitHookAsync($"active {term + 1} NotReady false {next}");
        Assert.Contains($"handing the Lease over to {next} (term {term + 1}) was refused: the Lease changed since write 1", AgentLogs());
        await Wait.UntilAsync(async () => (await GetGroupAsync(Group)).Status?.LastFailover?.Term == term + 1, Wait.Default, "the failover recorded");
        var status = (await GetGroupAsync(Group)).Status!;
        Assert.Equal((next, FencingProofs.Acknowledged), (status.ActivePod, status.LastFailover!.Proof));
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.Fenced)).Any(e =>
                e.Message == $"pod {old} stopped acting in term {term}: its agent acknowledged giving up term {term}"),
            Wait.Default, "the Fenced event naming the acknowledgement");
    }
}
