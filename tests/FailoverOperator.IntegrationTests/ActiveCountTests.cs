using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;
using FailoverOperator.Testing;
using k8s;
using k8s.Models;

namespace FailoverOperator.IntegrationTests;

/// <summary>
/// spec.activeCount above 1 on the real API server: N actives agreed on by labels, the Lease and the status; a failed
/// active replaced while the others stay; the count raised and lowered; an operator that died between the Lease and
/// the labels. The split-brain recorder allows N actives per group, never more, at any state the watch shows.
/// </summary>
[Collection(ControlPlaneCollection.Name)]
public class ActiveCountTests(ControlPlane plane, ITestOutputHelper output) : ClusterTest(plane, output)
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task NActivesAreElectedAndAFailedOneIsReplacedByTheBestStandbyWhileTheOthersStay(int n)
    {
        Recorder.AllowActives("db", n);
        await CreatePodsAsync("db", n + 2);
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db", s => s.ActiveCount = n);

        // Ready at about the same time: the ones Ready the longest, then by name.
        var actives = await WaitForActivesAsync(n);
        Assert.Equal(Enumerable.Range(0, n).Select(i => Cluster.MemberName("db", i)), actives);
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Phase == GroupPhase.Healthy, Wait.Default, "phase Healthy");
        var status = (await GetGroupAsync("db")).Status!;
        Assert.Equal((actives[0], 2, 0), (status.ActivePod, status.ReadyStandbys, status.FailoverCount));
        Assert.Equal("False", status.Conditions!.Single(c => c.Type == ConditionTypes.Degraded).Status);

        var failed = actives[1];
        var historyBefore = Recorder.RoleHistory.Count;
        await Kubelet.SetReadyAsync(failed, false);

        var replacement = Cluster.MemberName("db", n);
        var after = await WaitForActivesAsync(n, set => !set.Contains(failed));
        Assert.Equal(actives.Select(a => a == failed ? replacement : a), after); // in its place; the holder stays
        Assert.Equal(Roles.Standby, (await RolesAsync("db"))[failed]);
        var untouched = actives.Where(a => a != failed).ToList();
        Assert.DoesNotContain(Recorder.RoleHistory.Skip(historyBefore), change => untouched.Contains(change.Pod));
        var lease = (await GetLeaseAsync("db"))!;
        Assert.Equal((actives[0], 1), (lease.Spec.HolderIdentity, lease.Spec.LeaseTransitions));
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.LastFailover is not null, Wait.Default, "the failover recorded");
        status = (await GetGroupAsync("db")).Status!;
        Assert.Equal((failed, replacement, FailoverReasons.NotReady, 1, 1), (status.LastFailover!.From, status.LastFailover.To,
            status.LastFailover.Reason, status.LastFailover.Term, status.FailoverCount));
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.Promoted)).Any(e => e.Message.Contains($"replacing {failed}")),
            Wait.Default, "a Promoted event naming the failed active");
    }

    [Fact]
    public async Task RaisingAndLoweringTheActiveCountConvergesDemotingTheLowestRankedFirst()
    {
        Recorder.AllowActives("db", 3);
        await CreatePodsAsync("db", 4);
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db", s => s.ActiveCount = 2);
        Assert.Equal(["db-0", "db-1"], await WaitForActivesAsync(2));

        await PatchGroupSpecAsync("db", new { activeCount = 3 });
        Assert.Equal(["db-0", "db-1", "db-2"], await WaitForActivesAsync(3));
        Assert.Equal(1, (await GetLeaseAsync("db"))!.Spec.LeaseTransitions);

        // db-0 now ranks lowest: lowered to one, db-1 stays (priority 0, Ready before db-2) and holds the Lease alone.
        await AnnotateAsync("db-0", Roles.PriorityAnnotation, "-1");
        // The operator must have seen that priority before the count changes (pods and groups are separate
        // watches, so a spec change can overtake a pod change): db-3 made unpromotable after it, on the same
        // pods watch, shows in status.readyStandbys only once the operator's cache holds both.
        await AnnotateAsync("db-3", Roles.PromotableAnnotation, "false");
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.ReadyStandbys == 0, Wait.Default,
            "status.readyStandbys 0: the operator saw db-3 unpromotable, hence db-0's priority before it");
        await PatchGroupSpecAsync("db", new { activeCount = 1 });
        Assert.Equal(["db-1"], await WaitForActivesAsync(1));
        Recorder.AllowActives("db", 1);
        var lease = (await GetLeaseAsync("db"))!;
        Assert.Null(ActivesAnnotation(lease));
        Assert.Equal(2, lease.Spec.LeaseTransitions);
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.Demoted)).Select(e => e.InvolvedObject.Name).Distinct().Count() >= 3,
            Wait.Default, "Demoted events on the group and both demoted pods");

        // Back to one active: the single-active rules fail over as they always did.
        await Kubelet.SetReadyAsync("db-1", false);
        Assert.NotEqual("db-1", await WaitForActiveAsync("db", "db", a => a != "db-1"));
    }

    [Fact]
    public async Task WithFewerReadyMembersThanTheCountAllAreActiveAndTheGroupSaysSoUntilOneMoreIsReady()
    {
        Recorder.AllowActives("db", 3);
        await CreatePodsAsync("db", 2);
        await Kubelet.CreatePodAsync("db-2", new Dictionary<string, string> { [Cluster.GroupLabel] = "db" }, ready: false);
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db", s => s.ActiveCount = 3);

        Assert.Equal(["db-0", "db-1"], await WaitForActivesAsync(2));
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Conditions?.Any(c => c.Type == ConditionTypes.Degraded
            && c.Status == "True" && c.Reason == "FewerActivesThanActiveCount" && c.Message!.StartsWith("2 of spec.activeCount=3")) == true,
            Wait.Default, "condition Degraded saying 2 of 3 are active", () => DescribeAsync("db", "db"));
        Assert.Equal(GroupPhase.Healthy, (await GetGroupAsync("db")).Status!.Phase);

        await Kubelet.SetReadyAsync("db-2", true);
        Assert.Equal(["db-0", "db-1", "db-2"], await WaitForActivesAsync(3));
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Conditions?.Any(c => c.Type == ConditionTypes.Degraded && c.Reason == "NoReadyStandby") == true,
            Wait.Default, "condition Degraded saying no standby is left");
    }

    [Fact]
    public async Task AnOperatorThatDiedBetweenTheLeaseAndTheLabelsIsFinishedByTheNextWithoutEverMoreThanNActives()
    {
        Recorder.AllowActives("db", 2);
        await CreatePodsAsync("db", 4);
        await CreateGroupAsync("db", "db", s => s.ActiveCount = 2);
        var first = await StartOperatorAsync("first");
        Assert.Equal(["db-0", "db-1"], await WaitForActivesAsync(2));
        await first.KillAsync();

        // An operator that may commit the Lease but not label pods: its reconcile stops right after the commit point,
        // as a kill -9 between the two writes would leave it.
        const string identity = "no-pod-patch";
        await CreateServiceAccountWithRoleAsync(identity,
            Rule(HighAvailabilityGroup.Group, HighAvailabilityGroup.Plural, "list", "watch", "patch"),
            Rule(HighAvailabilityGroup.Group, HighAvailabilityGroup.Plural + "/status", "patch"),
            Rule("", "pods", "list", "watch"),
            Rule("coordination.k8s.io", "leases", "list", "watch", "create", "update", "get"),
            Rule("policy", "poddisruptionbudgets", "list", "watch", "create", "update", "delete"),
            Rule("", "events", "create", "patch"));
        await GrantNodeWatchAsync(identity);
        var restricted = await StartOperatorAsync(identity, kubeconfig: await ServiceAccountKubeconfigAsync(identity));
        await Kubelet.SetReadyAsync("db-1", false);
        await Wait.UntilAsync(async () => ActivesAnnotation(await GetLeaseAsync("db")) == "db-0,db-2",
            Wait.Default, "the restricted operator to commit the new set to the Lease", () => DescribeAsync("db", "db"));
        await restricted.KillAsync();
        var roles = await RolesAsync("db");
        Assert.Equal((Roles.Active, Roles.Standby), (roles["db-1"], roles["db-2"])); // the labels did not follow yet

        await StartOperatorAsync("full");
        Assert.Equal(["db-0", "db-2"], await WaitForActivesAsync(2));
        Assert.Equal(1, (await GetLeaseAsync("db"))!.Spec.LeaseTransitions); // finished, not committed again
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.LastFailover is { From: "db-1", To: "db-2", Term: 1 }, Wait.Default,
            "the next operator to record the failover the first one committed");
    }

    [Fact]
    public async Task AKilledLeaderIsReplacedAndTheNewLeaderReplacesAnActiveThatFailedMeanwhile()
    {
        string[] election = ["--leader-elect=true", $"--leader-election-namespace={Ns}", "--leader-election-lease-seconds=6"];
        Recorder.AllowActives("db", 3);
        await CreatePodsAsync("db", 5);
        await CreateGroupAsync("db", "db", s => s.ActiveCount = 3);
        var a = await StartOperatorAsync("operator-a", election);
        Assert.Equal(["db-0", "db-1", "db-2"], await WaitForActivesAsync(3));
        var b = await StartOperatorAsync("operator-b", election);

        await a.KillAsync();
        // Two actives fail while nobody leads: the new leader replaces them one Lease write (and term) each.
        await Kubelet.SetReadyAsync("db-0", false);
        await Kubelet.SetReadyAsync("db-2", false);
        await Wait.UntilAsync(b.IsLeaderAsync, TimeSpan.FromSeconds(6 + 5), "operator-b to take over from the killed leader");
        Assert.Equal(["db-3", "db-1", "db-4"], await WaitForActivesAsync(3, set => !set.Contains("db-0") && !set.Contains("db-2")));
        var lease = (await GetLeaseAsync("db"))!;
        Assert.Equal(("db-3", 2), (lease.Spec.HolderIdentity, lease.Spec.LeaseTransitions));
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status is { LastFailover: { From: "db-2", To: "db-4", Term: 2 }, Phase: GroupPhase.Healthy },
            Wait.Default, "the second failover recorded and the group Healthy", () => DescribeAsync("db", "db"));
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.Promoted)).Count(e => e.InvolvedObject.Kind == HighAvailabilityGroup.KindName
            && (e.Message.Contains("replacing db-0") || e.Message.Contains("replacing db-2"))) == 2, Wait.Default, "a Promoted event for each failover");
    }

    [Fact]
    public async Task AgentFencingWithSeveralActivesIsRefusedAndTheGroupKeepsItsActivesUntilTheSpecIsFixed()
    {
        Recorder.AllowActives("db", 2);
        await CreatePodsAsync("db", 3);
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db", s => s.ActiveCount = 2);
        Assert.Equal(["db-0", "db-1"], await WaitForActivesAsync(2));
        var leaseBefore = (await GetLeaseAsync("db"))!.Metadata.ResourceVersion;

        await PatchGroupSpecAsync("db", new { fencing = FencingModes.Agent });
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Phase == GroupPhase.Invalid, Wait.Default, "phase Invalid");
        var status = (await GetGroupAsync("db")).Status!;
        Assert.Contains("spec.activeCount: 2 is not supported with spec.fencing Agent", status.Conditions!.Single(c => c.Type == ConditionTypes.InvalidSpec).Message);
        Assert.Equal(["db-0", "db-1"], status.ActivePods);
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.InvalidSpec)).Any(e => e.Message.Contains("not supported with spec.fencing Agent")),
            Wait.Default, "an InvalidSpec warning");
        // Refused: nothing was written but the status (the Lease and the labels are as they were).
        Assert.Equal(leaseBefore, (await GetLeaseAsync("db"))!.Metadata.ResourceVersion);
        Assert.Equal((Roles.Active, Roles.Active, Roles.Standby), ((await RolesAsync("db"))["db-0"], (await RolesAsync("db"))["db-1"], (await RolesAsync("db"))["db-2"]));

        // Fixed, the group goes on from its state: a failure meanwhile is handled then.
        await Kubelet.SetReadyAsync("db-1", false);
        await PatchGroupSpecAsync("db", new { fencing = FencingModes.Label });
        Assert.Equal(["db-0", "db-2"], await WaitForActivesAsync(2, set => !set.Contains("db-1")));
        Assert.Equal(GroupPhase.Healthy, (await GetGroupAsync("db")).Status!.Phase);
    }

    [Fact]
    public async Task ASwitchoverToANamedStandbyMovesTheLowestRankedActiveAndAnyIsRefused()
    {
        Recorder.AllowActives("db", 2);
        await CreatePodsAsync("db", 3);
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db", s => s.ActiveCount = 2);
        Assert.Equal(["db-0", "db-1"], await WaitForActivesAsync(2));

        await RequestSwitchoverAsync("any");
        var refused = await WaitForSwitchoverAnswerAsync("any");
        Assert.Equal(SwitchoverResults.Refused, refused.Result);
        Assert.Contains("name a Ready standby", refused.Message);

        await RequestSwitchoverAsync("db-2");
        Assert.Equal(["db-0", "db-2"], await WaitForActivesAsync(2, set => set.Contains("db-2")));
        var answer = await WaitForSwitchoverAnswerAsync("db-2");
        Assert.Equal((SwitchoverResults.Succeeded, "db-1", 1), (answer.Result, answer.From, answer.Term));
    }

    private Task RequestSwitchoverAsync(string target) =>
        Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch(new { metadata = new { annotations = new Dictionary<string, string> { [Roles.SwitchoverAnnotation] = target } } }, V1Patch.PatchType.MergePatch),
            HighAvailabilityGroup.Group, HighAvailabilityGroup.Version, Ns, HighAvailabilityGroup.Plural, "db");

    private async Task<SwitchoverRecord> WaitForSwitchoverAnswerAsync(string target)
    {
        SwitchoverRecord? answer = null;
        await Wait.UntilAsync(async () =>
        {
            var group = await GetGroupAsync("db");
            answer = group.Status?.LastSwitchover;
            return answer?.To == target && answer.Result is not null && group.GetAnnotation(Roles.SwitchoverAnnotation) is null;
        }, Wait.Default, $"the switchover to {target} answered in status and its request removed");
        return answer!;
    }

    private static string? ActivesAnnotation(V1Lease? lease) =>
        lease?.Metadata.Annotations is { } annotations && annotations.TryGetValue(Roles.LeaseActivesAnnotation, out var value) ? value : null;

    private Task AnnotateAsync(string pod, string key, string value) =>
        Client.CoreV1.PatchNamespacedPodAsync(new V1Patch(new { metadata = new { annotations = new Dictionary<string, string> { [key] = value } } },
            V1Patch.PatchType.MergePatch), pod, Ns);

    /// <summary>
    /// Waits until <paramref name="count"/> pods of group db are labelled active and the Lease (holder and set) and the
    /// status (activePod, activePods) name the same pods in the same order; returns them in the Lease's order.
    /// </summary>
    private async Task<List<string>> WaitForActivesAsync(int count, Func<IReadOnlyList<string>, bool>? accept = null)
    {
        List<string> set = [];
        await Wait.UntilAsync(async () =>
        {
            var roles = await RolesAsync("db");
            var labelled = roles.Where(r => r.Value == Roles.Active).Select(r => r.Key).Order(StringComparer.Ordinal).ToList();
            if (labelled.Count != count || roles.Values.Any(r => r is null)) return false;
            var lease = await GetLeaseAsync("db");
            var holder = lease?.Spec?.HolderIdentity;
            set = ActivesAnnotation(lease)?.Split(',').ToList() ?? (holder is { Length: > 0 } h ? [h] : []);
            var status = (await GetGroupAsync("db")).Status;
            return set.Count == count && set[0] == holder && set.Order(StringComparer.Ordinal).SequenceEqual(labelled)
                && status?.ActivePod == holder && status.ActivePods is { } pods && pods.SequenceEqual(set) && (accept?.Invoke(set) ?? true);
        }, Wait.Default, $"{count} active pods agreed on by labels, Lease and status of db", () => DescribeAsync("db", "db"));
        return set;
    }
}
