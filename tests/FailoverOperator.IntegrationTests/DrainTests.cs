using System.Collections.Concurrent;
using System.Diagnostics;
using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;
using FailoverOperator.Runtime;
using FailoverOperator.Testing;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace FailoverOperator.IntegrationTests;

/// <summary>
/// A real `kubectl drain` (cordon, then the eviction API, retried while a PodDisruptionBudget refuses)
/// of a stand-in node, on the real API server with kube-controller-manager's disruption controller:
/// the active moves first (reason NodeDrain), or with spec.protectActive and nowhere to go the drain is
/// held, then released after spec.drainTimeoutSeconds. Every drain completes. Figures: docs/performance.md.
/// </summary>
[Collection(ControlPlaneCollection.Name)]
public class DrainTests(ControlPlane plane, ITestOutputHelper output) : ClusterTest(plane, output)
{
    private static readonly TimeSpan DrainLimit = TimeSpan.FromMinutes(2);

    /// <summary>Pods of the namespace as the watch delivers them: each role change and each deletion, with the role the pod had then.</summary>
    private sealed class PodHistory : IAsyncDisposable
    {
        private readonly Informer<V1Pod, V1PodList> pods;
        private readonly CancellationTokenSource stop = new();
        private readonly Task loop;
        public ConcurrentQueue<(TimeSpan At, string Pod, string? Role, bool Deleted)> Changes { get; } = new();
        private readonly Stopwatch clock;

        public PodHistory(IKubernetes watches, string ns, Stopwatch clock)
        {
            this.clock = clock;
            pods = new Informer<V1Pod, V1PodList>(ListWatch.For<V1Pod, V1PodList>(watches, ns), NullLogger.Instance, "drain-test-pods");
            pods.Changed += (old, current) =>
            {
                if (current is null) Changes.Enqueue((clock.Elapsed, old!.Metadata.Name, old.GetLabel(Cluster.RoleLabel), true));
                else if (old is not null && old.GetLabel(Cluster.RoleLabel) != current.GetLabel(Cluster.RoleLabel))
                    Changes.Enqueue((clock.Elapsed, current.Metadata.Name, current.GetLabel(Cluster.RoleLabel), false));
            };
            loop = Task.Run(() => pods.RunAsync(stop.Token));
        }

        public Task SyncedAsync() => pods.WaitForSyncAsync(CancellationToken.None).WaitAsync(Wait.Default);

        private TimeSpan? BecameActive(string pod) => Changes.FirstOrDefault(c => c.Pod == pod && c.Role == Roles.Active && !c.Deleted).At is var at && at > TimeSpan.Zero ? at : null;

        private (TimeSpan At, string? Role)? DeletedAs(string pod) => Changes.Where(c => c.Pod == pod && c.Deleted).Select(c => ((TimeSpan, string?)?)(c.At, c.Role)).FirstOrDefault();

        // The API server may answer kubectl or a read before this watch delivers the same change: waited for.
        public async Task<TimeSpan> BecameActiveAsync(string pod)
        {
            await Wait.UntilAsync(() => Task.FromResult(BecameActive(pod) is not null), Wait.Default, $"{pod} labelled active in the test's watch");
            return BecameActive(pod)!.Value;
        }

        public async Task<(TimeSpan At, string? Role)> DeletedAsAsync(string pod)
        {
            await Wait.UntilAsync(() => Task.FromResult(DeletedAs(pod) is not null), Wait.Default, $"{pod} deleted in the test's watch");
            return DeletedAs(pod)!.Value;
        }

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            try { await loop.WaitAsync(TimeSpan.FromSeconds(10)); } catch (Exception) { }
            stop.Dispose();
        }
    }

    private Task CreateMemberAsync(string name, string node) =>
        Cluster.Retry(() => Kubelet.CreatePodAsync(name, new Dictionary<string, string> { [Cluster.GroupLabel] = "db" }, node: node));

    private Task<ProcessRunner.Result> DrainAsync(string node) =>
        ProcessRunner.RunAsync("kubectl", ["drain", node, "--force", "--ignore-daemonsets", "--delete-emptydir-data", $"--timeout={DrainLimit.TotalSeconds:0}s",
            "--kubeconfig", Plane.KubeconfigPath], DrainLimit + TimeSpan.FromSeconds(30));

    private async Task<V1PodDisruptionBudget?> BudgetAsync()
    {
        // Through the same version choice as the operator: policy/v1beta1 on 1.20, policy/v1 on current clusters.
        var api = new PodDisruptionBudgetApi(Client);
        var version = await api.VersionAsync(CancellationToken.None);
        var list = await Client.CustomObjects.ListNamespacedCustomObjectAsync<V1PodDisruptionBudgetList>(PodDisruptionBudgetApi.Group, version, Ns, PodDisruptionBudgetApi.Plural);
        return list.Items.SingleOrDefault(b => b.Metadata.Name == FailoverDecision.BudgetName("db"));
    }

    /// <summary>The budget exists and the disruption controller has counted it: it allows no disruption (the active is its only pod).</summary>
    private Task WaitForProtectionAsync(string active) =>
        Wait.UntilAsync(async () => await BudgetAsync() is { } b && b.Status?.ObservedGeneration >= b.Metadata.Generation
                && b.Status.CurrentHealthy == 1 && b.Status.DisruptionsAllowed == 0,
            Wait.Default, $"the budget db-active to protect {active} (counted by the disruption controller)", async () => KubernetesJson.Serialize((await BudgetAsync())?.Status));

    [Fact]
    public async Task WithACandidateOnASchedulableNodeTheActiveMovesFirstAndTheDrainCompletes()
    {
        var drained = await CreateNodeAsync("a");
        var other = await CreateNodeAsync("b");
        await CreateMemberAsync("db-0", drained);
        await CreateMemberAsync("db-1", drained);
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db", s => s.ProtectActive = true);
        Assert.Equal("db-0", await WaitForActiveAsync("db", "db", a => a == "db-0"));
        await CreateMemberAsync("db-2", other);
        await WaitForProtectionAsync("db-0");
        // Before the drain: the active and the standby on another node are in different failure domains.
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Conditions?.Any(c => c.Type == ConditionTypes.SingleFailureDomain && c.Status == "False") == true,
            Wait.Default, "SingleFailureDomain False once db-2 is Ready on another node");

        var clock = Stopwatch.StartNew();
        await using var history = new PodHistory(Cluster.Watches, Ns, clock);
        await history.SyncedAsync();
        var drainStart = clock.Elapsed;
        var drain = await DrainAsync(drained);
        var drainDone = clock.Elapsed;
        Output.WriteLine(drain.Output);
        Assert.True(drain.ExitCode == 0, $"kubectl drain failed: {drain.Output}");

        await WaitForActiveAsync("db", "db", a => a == "db-2");
        var status = (await GetGroupAsync("db")).Status!;
        Assert.Equal(("db-0", "db-2", FailoverReasons.NodeDrain), (status.LastFailover!.From, status.LastFailover.To, status.LastFailover.Reason));
        Assert.Null(status.ActiveDrain);
        // Both pods of the drained node were evicted; the active only after it was demoted.
        var moved = await history.BecameActiveAsync("db-2");
        var evicted = await history.DeletedAsAsync("db-0");
        Assert.Equal(Roles.Standby, evicted.Role);
        Assert.True(moved <= evicted.At, $"db-0 deleted at {evicted.At} before db-2 was active at {moved}");
        await history.DeletedAsAsync("db-1");
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.NodeDrain)).Count > 0, Wait.Default, "a NodeDrain event");
        // The budget follows the active's label: it now protects db-2.
        await WaitForProtectionAsync("db-2");
        Output.WriteLine($"drain start -> active moved: {(moved - drainStart).TotalMilliseconds:0} ms; drain start -> drain done: " +
                         $"{(drainDone - drainStart).TotalMilliseconds:0} ms; old active evicted at +{(evicted.At - drainStart).TotalMilliseconds:0} ms; " +
                         $"operator's record: detected -> completed {status.LastFailover.DurationMilliseconds} ms");
    }

    [Fact]
    public async Task WithTwoActivesTheBudgetProtectsBothAndTheActiveOnTheDrainedNodeMovesWhileTheOtherStays()
    {
        Recorder.AllowActives("db", 2);
        var drained = await CreateNodeAsync("a");
        var kept = await CreateNodeAsync("b");
        var spare = await CreateNodeAsync("c");
        await CreateMemberAsync("db-0", drained);
        await CreateMemberAsync("db-1", kept);
        await CreateMemberAsync("db-2", drained);
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db", s => { s.ProtectActive = true; s.ActiveCount = 2; });
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.ActivePods is ["db-0", "db-1"], Wait.Default, "db-0 and db-1 active");
        await CreateMemberAsync("db-3", spare);
        // minAvailable 2 over the two actives: neither may be evicted.
        await Wait.UntilAsync(async () => await BudgetAsync() is { } b && b.Spec.MinAvailable?.Value == "2" && b.Status?.ObservedGeneration >= b.Metadata.Generation
                && b.Status.CurrentHealthy == 2 && b.Status.DisruptionsAllowed == 0,
            Wait.Default, "the budget db-active to protect both actives", async () => KubernetesJson.Serialize((await BudgetAsync())?.Status));
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.ReadyStandbys == 2, Wait.Default, "db-2 and db-3 Ready standbys");

        var clock = Stopwatch.StartNew();
        await using var history = new PodHistory(Cluster.Watches, Ns, clock);
        await history.SyncedAsync();
        var drainStart = clock.Elapsed;
        var drain = await DrainAsync(drained);
        var drainDone = clock.Elapsed;
        Output.WriteLine(drain.Output);
        Assert.True(drain.ExitCode == 0, $"kubectl drain failed: {drain.Output}");

        // db-2 shares the drained node, so db-3 takes db-0's place; db-1 keeps its role throughout.
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status is { ActivePods: ["db-3", "db-1"], LastFailover: not null }, Wait.Default,
            "db-3 active in db-0's place", () => DescribeAsync("db", "db"));
        var status = (await GetGroupAsync("db")).Status!;
        Assert.Equal(("db-0", "db-3", FailoverReasons.NodeDrain), (status.LastFailover!.From, status.LastFailover.To, status.LastFailover.Reason));
        Assert.Equal("db-3,db-1", (await GetLeaseAsync("db"))!.Metadata.Annotations[Roles.LeaseActivesAnnotation]);
        var moved = await history.BecameActiveAsync("db-3");
        var evicted = await history.DeletedAsAsync("db-0");
        Assert.Equal(Roles.Standby, evicted.Role);
        Assert.True(moved <= evicted.At, $"db-0 deleted at {evicted.At} before db-3 was active at {moved}");
        Assert.DoesNotContain(history.Changes, c => c.Pod == "db-1");
        Output.WriteLine($"two actives: drain start -> active moved: {(moved - drainStart).TotalMilliseconds:0} ms; drain start -> drain done: " +
                         $"{(drainDone - drainStart).TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task WithoutACandidateProtectActiveHoldsTheDrainThenLiftsItAfterTheTimeoutAndTheDrainCompletes()
    {
        var drained = await CreateNodeAsync("a");
        await CreateMemberAsync("db-0", drained);
        await CreateMemberAsync("db-1", drained);
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db", s => { s.ProtectActive = true; s.DrainTimeoutSeconds = 10; });
        Assert.Equal("db-0", await WaitForActiveAsync("db", "db", a => a == "db-0"));
        await WaitForProtectionAsync("db-0");
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Conditions?.Any(c => c.Type == ConditionTypes.SingleFailureDomain && c.Status == "True"
                && c.Message.Contains($"node {drained}")) == true, Wait.Default, "SingleFailureDomain True naming the node");

        var clock = Stopwatch.StartNew();
        await using var history = new PodHistory(Cluster.Watches, Ns, clock);
        await history.SyncedAsync();
        var drainStart = clock.Elapsed;
        var drainTask = DrainAsync(drained);

        // The drain is held: recorded in the status with its start and why, and said once.
        ActiveDrain? held = null;
        await Wait.UntilAsync(async () => (held = (await GetGroupAsync("db")).Status?.ActiveDrain) is not null, Wait.Default, "status.activeDrain");
        Assert.Equal(("db-0", drained, "cordoned"), (held!.Pod, held.Node, held.Reason));
        Assert.Contains("no promotable standby is Ready on a schedulable node", held.Message);
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.NodeDrainBlocked)).Count > 0, Wait.Default, "a NodeDrainBlocked Warning");

        var drain = await drainTask;
        var drainDone = clock.Elapsed;
        Output.WriteLine(drain.Output);
        Assert.True(drain.ExitCode == 0, $"kubectl drain failed: {drain.Output}");
        // The eviction of the active was refused by the budget until the protection was lifted.
        Assert.Contains("Cannot evict pod as it would violate the pod's disruption budget", drain.Output);
        var evicted = await history.DeletedAsAsync("db-0");
        Assert.Equal(Roles.Active, evicted.Role);

        // One on the group (and one on the pod); written off the reconcile path, so waited for.
        Corev1Event? lifted = null;
        await Wait.UntilAsync(async () => (lifted = (await EventsAsync(EventReasons.ProtectionLifted)).SingleOrDefault(e => e.InvolvedObject.Kind == HighAvailabilityGroup.KindName))
            is not null, Wait.Default, "the ProtectionLifted Warning on the group");
        Assert.Equal(EventTypes.Warning, lifted!.Type);
        Assert.Contains("spec.drainTimeoutSeconds=10", lifted.Message);
        // Lifted no sooner than drainTimeoutSeconds after the drain was recorded (both instants are the operator's, in the status).
        var liftedAt = DateTime.Parse(System.Text.RegularExpressions.Regex.Match(lifted.Message, @"lifted at (\S+) ").Groups[1].Value,
            null, System.Globalization.DateTimeStyles.RoundtripKind);
        Assert.True(liftedAt - held.Since!.Value >= TimeSpan.FromSeconds(10), $"lifted at {liftedAt:O}, {liftedAt - held.Since} after {held.Since:O}");
        // The pods are gone: nothing to promote, no drain of an active to record; the budget is back for the next active.
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status is { ActivePod: null, ActiveDrain: null } && await BudgetAsync() is not null,
            Wait.Default, "no active, no activeDrain, and the budget back");
        Output.WriteLine($"drain start -> active evicted (protection lifted): {(evicted.At - drainStart).TotalMilliseconds:0} ms; " +
                         $"drain start -> drain done: {(drainDone - drainStart).TotalMilliseconds:0} ms; drain recorded {held.Since:O}, lifted {liftedAt:O}");
    }

    [Fact]
    public async Task WithoutProtectActiveTheDrainCompletesAtOnceAndTheActiveEndsOnTheOtherNode()
    {
        var drained = await CreateNodeAsync("a");
        var other = await CreateNodeAsync("b");
        await CreateMemberAsync("db-0", drained);
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db");
        Assert.Equal("db-0", await WaitForActiveAsync("db", "db", a => a == "db-0"));
        await CreateMemberAsync("db-1", other);
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.ReadyStandbys == 1, Wait.Default, "db-1 a Ready standby");
        Assert.Null(await BudgetAsync());

        var clock = Stopwatch.StartNew();
        await using var history = new PodHistory(Cluster.Watches, Ns, clock);
        await history.SyncedAsync();
        var drainStart = clock.Elapsed;
        var drain = await DrainAsync(drained);
        var drainDone = clock.Elapsed;
        Assert.True(drain.ExitCode == 0, $"kubectl drain failed: {drain.Output}");
        Assert.DoesNotContain("disruption budget", drain.Output);

        await WaitForActiveAsync("db", "db", a => a == "db-1");
        var status = (await GetGroupAsync("db")).Status!;
        // Nothing holds the eviction: the operator's move (NodeDrain) and the eviction (then a failover: Terminating or Deleted) race.
        Assert.Contains(status.LastFailover!.Reason, new[] { FailoverReasons.NodeDrain, FailoverReasons.Terminating, FailoverReasons.Deleted });
        var moved = await history.BecameActiveAsync("db-1");
        var evicted = await history.DeletedAsAsync("db-0");
        Output.WriteLine($"without protectActive: reason {status.LastFailover.Reason}; db-0 deleted as {evicted.Role} at +{(evicted.At - drainStart).TotalMilliseconds:0} ms; " +
                         $"db-1 active at +{(moved - drainStart).TotalMilliseconds:0} ms; drain done at +{(drainDone - drainStart).TotalMilliseconds:0} ms");
    }

    [Fact]
    public async Task ACordonAloneMovesTheActiveToAStandbyOnAnotherNodeNotToOneOnTheSameNode()
    {
        // db-1 shares the active's node and has been Ready the longest and preferred: a failover would still pick db-2 (not on the failed
        // node); a drain must, since db-1 is about to be evicted too. Only the cordon happens here, so db-1 stays to be chosen wrongly.
        var drained = await CreateNodeAsync("a");
        var other = await CreateNodeAsync("b");
        await CreateMemberAsync("db-0", drained);
        await CreateMemberAsync("db-1", drained);
        await Client.CoreV1.PatchNamespacedPodAsync(new V1Patch(new { metadata = new { annotations = new Dictionary<string, string> { [Roles.PriorityAnnotation] = "5" } } },
            V1Patch.PatchType.MergePatch), "db-1", Ns);
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db");
        Assert.Equal("db-1", await WaitForActiveAsync("db", "db"));
        await Client.CoreV1.PatchNamespacedPodAsync(new V1Patch(new { metadata = new { annotations = new Dictionary<string, string> { [Roles.PriorityAnnotation] = "0" } } },
            V1Patch.PatchType.MergePatch), "db-1", Ns);
        await CreateMemberAsync("db-2", other);
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.ReadyStandbys == 2, Wait.Default, "two Ready standbys");

        await ProcessRunner.RunCheckedAsync("kubectl", ["cordon", drained, "--kubeconfig", Plane.KubeconfigPath], Wait.Default);
        Assert.Equal("db-2", await WaitForActiveAsync("db", "db", a => a != "db-1"));
        var status = (await GetGroupAsync("db")).Status!;
        Assert.Equal(("db-1", "db-2", FailoverReasons.NodeDrain), (status.LastFailover!.From, status.LastFailover.To, status.LastFailover.Reason));
        Assert.Equal(1, status.FailoverCount);
    }

    [Fact]
    public async Task InAgentModeACordonFencesTheActiveAsAPlannedNodeDrainAndPromotesOnceItsAgentAcknowledges()
    {
        var drained = await CreateNodeAsync("a");
        var other = await CreateNodeAsync("b");
        await CreateMemberAsync("db-0", drained);
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db", s => { s.Fencing = FencingModes.Agent; s.LeaseDurationSeconds = 300; s.ProtectActive = true; });
        Assert.Equal("db-0", await WaitForActiveAsync("db", "db"));
        await CreateMemberAsync("db-1", other);
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.ReadyStandbys == 1, Wait.Default, "db-1 a Ready standby");

        await ProcessRunner.RunCheckedAsync("kubectl", ["cordon", drained, "--kubeconfig", Plane.KubeconfigPath], Wait.Default);
        // The agent's view (what its hooks get as FAILOVER_REASON): the Lease taken away from db-0 for reason NodeDrain, to db-1.
        FencingRecord? fencing = null;
        await Wait.UntilAsync(async () => await GetLeaseAsync("db") is { } lease && string.IsNullOrEmpty(lease.Spec?.HolderIdentity)
            && (fencing = GroupLease.FencingOf(lease)) is not null, Wait.Default, "the Lease taken away from db-0");
        Assert.Equal(("db-0", FailoverReasons.NodeDrain, "db-1", 0), (fencing!.From, fencing.Reason, fencing.To, fencing.Term));
        // Events are written off the reconcile path: waited for, not read once.
        Corev1Event? started = null;
        await Wait.UntilAsync(async () => (started = (await EventsAsync(EventReasons.FencingStarted)).FirstOrDefault()) is not null, Wait.Default, "a FencingStarted event");
        Assert.Equal(EventTypes.Normal, started!.Type);   // planned: not a Warning
        Assert.DoesNotContain(Roles.Active, (await RolesAsync("db")).Values);

        // What db-0's agent writes once its demote hook ran.
        await Client.CoreV1.PatchNamespacedPodAsync(new V1Patch(new { metadata = new { annotations = new Dictionary<string, string> { [Roles.DemotedTermAnnotation] = "0" } } },
            V1Patch.PatchType.MergePatch), "db-0", Ns);
        Assert.Equal("db-1", await WaitForActiveAsync("db", "db", a => a == "db-1"));
        var status = (await GetGroupAsync("db")).Status!;
        Assert.Equal(("db-0", "db-1", FailoverReasons.NodeDrain, 1), (status.LastFailover!.From, status.LastFailover.To, status.LastFailover.Reason, status.LastFailover.Term));
        await WaitForProtectionAsync("db-1");
    }

    [Fact]
    public async Task ALeaderHandOverDuringTheDrainWaitDoesNotRestartIt()
    {
        var drained = await CreateNodeAsync("a");
        await CreateMemberAsync("db-0", drained);
        await CreateGroupAsync("db", "db", s => { s.ProtectActive = true; s.DrainTimeoutSeconds = 15; });
        var a = await StartOperatorAsync("operator-a");
        Assert.Equal("db-0", await WaitForActiveAsync("db", "db"));
        await WaitForProtectionAsync("db-0");
        await ProcessRunner.RunCheckedAsync("kubectl", ["cordon", drained, "--kubeconfig", Plane.KubeconfigPath], Wait.Default);
        ActiveDrain? held = null;
        await Wait.UntilAsync(async () => (held = (await GetGroupAsync("db")).Status?.ActiveDrain) is not null, Wait.Default, "operator-a to record the drain");
        await a.StopGracefullyAsync();
        // operator-b starts a third of the timeout later: had it restarted the count, it would lift no sooner than 15 s after its start.
        await Wait.UntilAsync(() => Task.FromResult(DateTime.UtcNow - held!.Since!.Value >= TimeSpan.FromSeconds(5)), Wait.Default, "5 s after the drain was recorded");
        var bStarted = DateTime.UtcNow;
        await StartOperatorAsync("operator-b");
        ActiveDrain? lifted = null;
        await Wait.UntilAsync(async () => (lifted = (await GetGroupAsync("db")).Status?.ActiveDrain) is { ProtectionLiftedAt: not null }, TimeSpan.FromSeconds(60),
            "operator-b to lift the protection");
        Assert.Equal(held!.Since, lifted!.Since);
        Assert.True(lifted.ProtectionLiftedAt!.Value - held.Since!.Value >= TimeSpan.FromSeconds(15), $"lifted at {lifted.ProtectionLiftedAt:O}, before the timeout");
        Assert.True(lifted.ProtectionLiftedAt.Value < bStarted + TimeSpan.FromSeconds(15),
            $"lifted at {lifted.ProtectionLiftedAt:O}: operator-b (started {bStarted:O}) counted from its own start");
        await Wait.UntilAsync(async () => await BudgetAsync() is null, Wait.Default, "the budget deleted");
        // Uncordoned: the drain is over, the protection comes back.
        await ProcessRunner.RunCheckedAsync("kubectl", ["uncordon", drained, "--kubeconfig", Plane.KubeconfigPath], Wait.Default);
        await WaitForProtectionAsync("db-0");
        Assert.Null((await GetGroupAsync("db")).Status!.ActiveDrain);
    }

    [Fact]
    public async Task SingleFailureDomainFollowsZonesWhenNodesCarryThem()
    {
        var a = await CreateNodeAsync("a", zone: "z1");
        var b = await CreateNodeAsync("b", zone: "z1");
        var c = await CreateNodeAsync("c", zone: "z2");
        await CreateMemberAsync("db-0", a);
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db");
        Assert.Equal("db-0", await WaitForActiveAsync("db", "db"));
        await CreateMemberAsync("db-1", b);
        V1Condition? condition = null;
        await Wait.UntilAsync(async () => (condition = (await GetGroupAsync("db")).Status?.Conditions?.FirstOrDefault(x => x.Type == ConditionTypes.SingleFailureDomain))
            is { Status: "True" } && condition.Message.Contains("zone z1"), Wait.Default, "SingleFailureDomain True naming zone z1", async () => $"{condition?.Status}: {condition?.Message}");
        await CreateMemberAsync("db-2", c);
        await Wait.UntilAsync(async () => (condition = (await GetGroupAsync("db")).Status?.Conditions?.FirstOrDefault(x => x.Type == ConditionTypes.SingleFailureDomain))
            is { Status: "False" } && condition.Message.Contains("db-2 (zone z2)"), Wait.Default, "SingleFailureDomain False naming db-2 in zone z2",
            async () => $"{condition?.Status}: {condition?.Message}");
        // A node's zone changing is seen through the node watch alone.
        await Client.CoreV1.PatchNodeAsync(new V1Patch(new { metadata = new { labels = new Dictionary<string, string> { [FailoverDecision.ZoneLabel] = "z1" } } },
            V1Patch.PatchType.MergePatch), c);
        await Wait.UntilAsync(async () => (condition = (await GetGroupAsync("db")).Status?.Conditions?.FirstOrDefault(x => x.Type == ConditionTypes.SingleFailureDomain))
            is { Status: "True" }, Wait.Default, "SingleFailureDomain True once node c moved to zone z1", async () => $"{condition?.Status}: {condition?.Message}");
    }
}
