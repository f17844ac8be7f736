using System.Collections.Concurrent;
using System.Diagnostics;
using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;
using FailoverOperator.Runtime;
using FailoverOperator.Testing;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace FailoverOperator.IntegrationTests.RealNode;

/// <summary>
/// Issue 13's drain on two real nodes: a real `kubectl drain` (cordon, then the eviction API, retried every
/// 5 s while a PodDisruptionBudget refuses) of a node of hack/node.sh, whose kubelet really stops the evicted
/// containers (grace period, deletion confirmed by the kubelet) before kubectl sees them gone. Members are
/// Deployments pinned to a node (nodeSelector kubernetes.io/hostname), so an evicted pod's replacement stays
/// Pending on the cordoned node. With a Ready standby on the other node the active moves first and the budget
/// keeps it from being evicted while it is active; without one the drain is held until spec.drainTimeoutSeconds,
/// then released. Both drains complete. Each test uncordons its node and waits until its pods are gone.
/// The figures (printed, not asserted): docs/performance.md, "Node drain".
/// </summary>
[Collection(RealNodeCollection.Name)]
public class DrainRealNodeTests(RealNodeCluster node, ITestOutputHelper output) : ClusterTest(node, output)
{
    private const string Group = "db";
    private const string HostnameLabel = "kubernetes.io/hostname";
    /// <summary>Tells the two Deployments' selectors apart (both carry app=db, the group's selector).</summary>
    private const string PlacementLabel = "drain-test/node";
    private static readonly TimeSpan DrainLimit = TimeSpan.FromMinutes(3);

    /// <summary>The node this test cordoned (by its drain), uncordoned at the end whatever happened.</summary>
    private string? cordoned;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        if (node.Nodes.Count < 2) throw new InvalidOperationException("these tests need two nodes of hack/node.sh (NODES=2), node.env names fewer");
        await WaitForNodesSchedulableAsync();
    }

    public override async Task DisposeAsync()
    {
        try
        {
            if (cordoned is not null)
            {
                await ProcessRunner.RunCheckedAsync("kubectl", ["uncordon", cordoned, "--kubeconfig", Plane.KubeconfigPath], Wait.Default);
                await WaitForNodesSchedulableAsync();
            }
        }
        finally
        {
            try { await DeleteWhatWasCreatedAsync(); }
            finally { await base.DisposeAsync(); }
        }
    }

    /// <summary>The group, then the Deployments, and every pod gone, so the next test's drain finds nothing of this one on the nodes.</summary>
    private async Task DeleteWhatWasCreatedAsync()
    {
        try { await Client.CustomObjects.DeleteNamespacedCustomObjectAsync(HighAvailabilityGroup.Group, HighAvailabilityGroup.Version, Ns, HighAvailabilityGroup.Plural, Group); }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound) { }
        foreach (var deployment in (await Client.AppsV1.ListNamespacedDeploymentAsync(Ns)).Items)
        {
            await Client.AppsV1.DeleteNamespacedDeploymentAsync(deployment.Metadata.Name, Ns, new V1DeleteOptions { PropagationPolicy = "Background" });
        }
        await Wait.UntilAsync(async () => (await Client.CoreV1.ListNamespacedPodAsync(Ns)).Items.Count == 0, TimeSpan.FromMinutes(2),
            "every pod of the test deleted", async () => string.Join("; ", (await Client.CoreV1.ListNamespacedPodAsync(Ns)).Items.Select(Describe)));
    }

    // ---------------------------------------------------------------------------------------------
    // nodes

    private async Task WaitForNodesSchedulableAsync() =>
        await Wait.UntilAsync(async () => (await Client.CoreV1.ListNodeAsync()).Items.Count(IsSchedulable) == node.Nodes.Count,
            TimeSpan.FromSeconds(90), "every node Ready, schedulable and untainted",
            async () => string.Join("; ", (await Client.CoreV1.ListNodeAsync()).Items.Select(n =>
                $"{n.Metadata.Name}: unschedulable={n.Spec?.Unschedulable} {string.Join(",", n.Status.Conditions.Select(c => $"{c.Type}={c.Status}"))} " +
                $"taints [{string.Join(",", (n.Spec?.Taints ?? []).Select(t => $"{t.Key}:{t.Effect}"))}]")));

    /// <summary>Ready, not cordoned, and without the taints of a cordon (node.kubernetes.io/unschedulable) or of a node in trouble.</summary>
    private static bool IsSchedulable(V1Node n) =>
        n.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true
        && n.Spec?.Unschedulable != true
        && !(n.Spec?.Taints ?? []).Any(t => t.Key is "node.kubernetes.io/unschedulable" or "node.kubernetes.io/unreachable" or "node.kubernetes.io/not-ready");

    private Task<ProcessRunner.Result> DrainAsync(string nodeName)
    {
        cordoned = nodeName;
        return ProcessRunner.RunAsync("kubectl", ["drain", nodeName, "--force", "--ignore-daemonsets", "--delete-emptydir-data",
            $"--timeout={DrainLimit.TotalSeconds:0}s", "--kubeconfig", Plane.KubeconfigPath], DrainLimit + TimeSpan.FromSeconds(30));
    }

    // ---------------------------------------------------------------------------------------------
    // members: Deployments pinned to a node

    /// <summary>A Deployment db-NODE of probed busybox pods labelled app=db, pinned to the node.</summary>
    private async Task CreatePinnedDeploymentAsync(string nodeName, int replicas)
    {
        var deployment = ProbedWorkload.Deployment(Group, node.AppImage, node.IsOwned ? "Never" : "IfNotPresent", replicas);
        deployment.Metadata.Name = $"{Group}-{nodeName}";
        // ProbedWorkload shares one dictionary between the Deployment's labels, selector and template: each gets its own.
        Dictionary<string, string> Labels() => new() { [Cluster.GroupLabel] = Group, [PlacementLabel] = nodeName };
        deployment.Metadata.Labels = Labels();
        deployment.Spec.Selector = new V1LabelSelector { MatchLabels = Labels() };
        deployment.Spec.Template.Metadata.Labels = Labels();
        deployment.Spec.Template.Spec.NodeSelector = new Dictionary<string, string> { [HostnameLabel] = nodeName };
        await Client.AppsV1.CreateNamespacedDeploymentAsync(deployment, Ns);
    }

    private static bool IsReady(V1Pod pod) => pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    private static string Describe(V1Pod p) =>
        $"{p.Metadata.Name} on {p.Spec.NodeName ?? "-"}: {p.Status?.Phase} ready={IsReady(p)} role={p.GetLabel(Cluster.RoleLabel)}" +
        (p.Metadata.DeletionTimestamp is null ? "" : " terminating");

    /// <summary>Waits until <paramref name="count"/> pods of the Deployment pinned to the node are Running and Ready; returns their names.</summary>
    private async Task<List<string>> WaitForReadyPodsAsync(string nodeName, int count)
    {
        List<string> ready = [];
        await Wait.UntilAsync(async () =>
            {
                var pods = (await Client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: $"{PlacementLabel}={nodeName}")).Items;
                ready = pods.Where(p => p.Metadata.DeletionTimestamp is null && p.Spec.NodeName == nodeName && IsReady(p)).Select(p => p.Metadata.Name).Order().ToList();
                return ready.Count == count;
            }, TimeSpan.FromMinutes(2), $"{count} Ready pod(s) of {Group}-{nodeName} on {nodeName}",
            async () => string.Join("; ", (await Client.CoreV1.ListNamespacedPodAsync(Ns)).Items.Select(Describe)));
        return ready;
    }

    private async Task<V1Pod?> PodOrNullAsync(string name)
    {
        try { return await Client.CoreV1.ReadNamespacedPodAsync(name, Ns); }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound) { return null; }
    }

    private async Task WaitForHealthyAsync(int readyStandbys) =>
        await Wait.UntilAsync(async () => (await GetGroupAsync(Group)).Status is { } s && s.Phase == GroupPhase.Healthy && s.ReadyStandbys == readyStandbys,
            Wait.Default, $"{Group} Healthy with {readyStandbys} Ready standby(s)", () => DescribeAsync(Group, Group));

    // ---------------------------------------------------------------------------------------------
    // the budget

    private async Task<V1PodDisruptionBudget?> BudgetAsync()
    {
        // Through the operator's own version choice: policy/v1beta1 on this 1.20 cluster, policy/v1 where served.
        var version = await new PodDisruptionBudgetApi(Client).VersionAsync(CancellationToken.None);
        var list = await Client.CustomObjects.ListNamespacedCustomObjectAsync<V1PodDisruptionBudgetList>(PodDisruptionBudgetApi.Group, version, Ns, PodDisruptionBudgetApi.Plural);
        return list.Items.SingleOrDefault(b => b.Metadata.Name == FailoverDecision.BudgetName(Group));
    }

    /// <summary>The budget exists and kube-controller-manager's disruption controller counted it: one healthy pod (the active), no disruption allowed.</summary>
    private Task WaitForProtectionAsync(string active) =>
        Wait.UntilAsync(async () => await BudgetAsync() is { } b && b.Status?.ObservedGeneration >= b.Metadata.Generation
                && b.Status.CurrentHealthy == 1 && b.Status.DisruptionsAllowed == 0,
            Wait.Default, $"the budget {FailoverDecision.BudgetName(Group)} to protect {active} (counted by the disruption controller)",
            async () => await BudgetAsync() is { } b ? $"{b.Metadata.Name}: {KubernetesJson.Serialize(b.Status)}" : "no budget");

    /// <summary>An eviction of the pod through the API (what kubectl drain sends), expected to be refused by the budget: HTTP 429.</summary>
    private async Task AssertEvictionRefusedAsync(string pod)
    {
        var version = await new PodDisruptionBudgetApi(Client).VersionAsync(CancellationToken.None);
        var eviction = new V1Eviction
        {
            ApiVersion = $"{PodDisruptionBudgetApi.Group}/{version}",
            Kind = "Eviction",
            Metadata = new V1ObjectMeta { Name = pod, NamespaceProperty = Ns },
        };
        var refused = await Assert.ThrowsAsync<HttpOperationException>(() => Client.CoreV1.CreateNamespacedPodEvictionAsync(eviction, pod, Ns));
        Assert.True(refused.Response.StatusCode == System.Net.HttpStatusCode.TooManyRequests,
            $"the eviction of {pod} should be refused with 429 by the budget: {(int)refused.Response.StatusCode} {refused.Response.Content}");
        Assert.Contains("disruption budget", refused.Response.Content);
        Assert.Null((await PodOrNullAsync(pod))?.Metadata.DeletionTimestamp);
    }

    // ---------------------------------------------------------------------------------------------
    // what the test's own watch saw

    /// <summary>
    /// The namespace's pods and the nodes as the watches deliver them, each change timed on the test's Stopwatch:
    /// role changes, each pod's eviction (the first version with a deletionTimestamp) with the role it carried
    /// then, and each node's cordon (spec.unschedulable turning true: what kubectl drain does first). On a real
    /// node the evicted pod lives on for its grace period, and the operator may relabel it meanwhile, so the
    /// role at the final deletion would not say whether it was evicted as the active.
    /// </summary>
    private sealed class DrainHistory : IAsyncDisposable
    {
        private readonly Informer<V1Pod, V1PodList> pods;
        private readonly Informer<V1Node, V1NodeList> nodes;
        private readonly CancellationTokenSource stop = new();
        private readonly Task loop;
        /// <summary>Pod is the pod's name, or the node's for "cordoned".</summary>
        public ConcurrentQueue<(TimeSpan At, string Pod, string What, string? Role)> Changes { get; } = new();

        public DrainHistory(IKubernetes watches, string ns, Stopwatch clock)
        {
            nodes = new Informer<V1Node, V1NodeList>(ListWatch.For<V1Node, V1NodeList>(watches, null), NullLogger.Instance, "drain-test-nodes");
            nodes.Changed += (old, current) =>
            {
                if (old is not null && current is not null && old.Spec?.Unschedulable != true && current.Spec?.Unschedulable == true)
                    Changes.Enqueue((clock.Elapsed, current.Metadata.Name, "cordoned", null));
            };
            pods = new Informer<V1Pod, V1PodList>(ListWatch.For<V1Pod, V1PodList>(watches, ns), NullLogger.Instance, "drain-test-pods");
            pods.Changed += (old, current) =>
            {
                var at = clock.Elapsed;
                if (current is null)
                {
                    // Deleted without a terminating version in between (not expected on a real node): the eviction too.
                    if (old!.Metadata.DeletionTimestamp is null) Changes.Enqueue((at, old.Metadata.Name, "evicted", old.GetLabel(Cluster.RoleLabel)));
                    Changes.Enqueue((at, old.Metadata.Name, "deleted", old.GetLabel(Cluster.RoleLabel)));
                    return;
                }
                if (old is null) return;
                if (old.Metadata.DeletionTimestamp is null && current.Metadata.DeletionTimestamp is not null)
                    Changes.Enqueue((at, current.Metadata.Name, "evicted", current.GetLabel(Cluster.RoleLabel)));
                if (old.GetLabel(Cluster.RoleLabel) != current.GetLabel(Cluster.RoleLabel))
                    Changes.Enqueue((at, current.Metadata.Name, "role", current.GetLabel(Cluster.RoleLabel)));
            };
            loop = Task.WhenAll(Task.Run(() => pods.RunAsync(stop.Token)), Task.Run(() => nodes.RunAsync(stop.Token)));
        }

        public Task SyncedAsync() => Task.WhenAll(pods.WaitForSyncAsync(CancellationToken.None), nodes.WaitForSyncAsync(CancellationToken.None)).WaitAsync(Wait.Default);

        /// <summary>The first change of the pod matching <paramref name="match"/>, waited for: kubectl or a read may be answered before this watch delivers it.</summary>
        public async Task<(TimeSpan At, string? Role)> FirstAsync(string pod, string what, Func<string?, bool>? match = null)
        {
            (TimeSpan At, string Pod, string What, string? Role)? found = null;
            await Wait.UntilAsync(() => Task.FromResult((found = Changes.Where(c => c.Pod == pod && c.What == what && (match?.Invoke(c.Role) ?? true))
                    .Select(c => ((TimeSpan, string, string, string?)?)c).FirstOrDefault()) is not null),
                Wait.Default, $"{pod} {what} in the test's watch", () => Task.FromResult(Dump()));
            return (found!.Value.At, found.Value.Role);
        }

        public string Dump() => string.Join("\n", Changes.Select(c => $"  +{c.At.TotalMilliseconds:0} ms {c.Pod} {c.What} (role {c.Role ?? "none"})"));

        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            try { await loop.WaitAsync(TimeSpan.FromSeconds(10)); } catch (Exception) { }
            stop.Dispose();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // tests

    [Fact]
    public async Task WithAStandbyOnTheOtherNodeTheActiveMovesAheadOfTheEvictionAndTheDrainCompletes()
    {
        var drained = node.Nodes[0].Name;
        var other = node.Nodes[1].Name;
        // Two pods on the drained node first, so one of them is elected; the other (Ready longer than the
        // standby on the other node) must be passed over by the drain: it is about to be evicted too.
        await CreatePinnedDeploymentAsync(drained, replicas: 2);
        var onDrained = await WaitForReadyPodsAsync(drained, 2);
        await StartOperatorAsync();
        await CreateGroupAsync(Group, Group, s => s.ProtectActive = true);
        var active = await WaitForActiveAsync(Group, Group);
        Assert.Contains(active, onDrained);
        await CreatePinnedDeploymentAsync(other, replicas: 1);
        var candidate = (await WaitForReadyPodsAsync(other, 1)).Single();
        await WaitForHealthyAsync(readyStandbys: 2);
        await WaitForProtectionAsync(active);
        // The budget refuses an eviction of the active; the drain is not started yet, so nothing moves for it.
        await AssertEvictionRefusedAsync(active);
        Assert.Equal(active, await WaitForActiveAsync(Group, Group));

        var clock = Stopwatch.StartNew();
        await using var history = new DrainHistory(Cluster.Watches, Ns, clock);
        await history.SyncedAsync();
        var drainStart = clock.Elapsed;
        var drain = await DrainAsync(drained);
        var drainDone = clock.Elapsed;
        Output.WriteLine($"--- kubectl drain {drained} (exit {drain.ExitCode}) ---\n{drain.Output}");
        Assert.True(drain.ExitCode == 0, $"kubectl drain failed: {drain.Output}");

        // The move: NodeDrain, planned, to the standby on the other node (not the one sharing the drained node).
        Assert.Equal(candidate, await WaitForActiveAsync(Group, Group, a => a != active));
        Assert.Equal(other, (await Client.CoreV1.ReadNamespacedPodAsync(candidate, Ns)).Spec.NodeName);
        var status = (await GetGroupAsync(Group)).Status!;
        Assert.Equal((active, candidate, FailoverReasons.NodeDrain), (status.LastFailover!.From, status.LastFailover.To, status.LastFailover.Reason));
        Assert.Null(status.ActiveDrain);
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.NodeDrain)).Count > 0, Wait.Default, "a NodeDrain event");

        // The old active was demoted before it was evicted, and evicted as a standby, never while labelled active.
        var moved = await history.FirstAsync(candidate, "role", r => r == Roles.Active);
        var demoted = await history.FirstAsync(active, "role", r => r == Roles.Standby);
        var evicted = await history.FirstAsync(active, "evicted");
        Assert.True(evicted.Role == Roles.Standby, $"{active} was evicted while labelled {evicted.Role}:\n{history.Dump()}");
        Assert.True(demoted.At <= evicted.At, $"{active} evicted at +{evicted.At.TotalMilliseconds:0} ms, demoted at +{demoted.At.TotalMilliseconds:0} ms:\n{history.Dump()}");
        // Every pod of the drained node was evicted and is gone (kubectl drain waits for that); their replacements wait, Pending, for the node.
        foreach (var pod in onDrained)
        {
            await history.FirstAsync(pod, "evicted");
            Assert.Null(await PodOrNullAsync(pod));
        }
        Assert.DoesNotContain((await Client.CoreV1.ListNamespacedPodAsync(Ns)).Items, p => p.Spec.NodeName == drained);
        // The budget follows the role label: it now protects the new active.
        await WaitForProtectionAsync(candidate);

        var cordon = await history.FirstAsync(drained, "cordoned");
        var refusals = CountRefusals(drain.Output);
        Output.WriteLine($"with a candidate: drain start -> {drained} cordoned +{(cordon.At - drainStart).TotalMilliseconds:0} ms; " +
                         $"{candidate} active (moved) +{(moved.At - drainStart).TotalMilliseconds:0} ms; " +
                         $"{active} evicted as {evicted.Role} +{(evicted.At - drainStart).TotalMilliseconds:0} ms; " +
                         $"drain done +{(drainDone - drainStart).TotalMilliseconds:0} ms; kubectl's evictions refused by the budget: {refusals}; " +
                         $"operator's record: detected -> completed {status.LastFailover.DurationMilliseconds} ms\n{history.Dump()}");
    }

    [Fact]
    public async Task WithEveryMemberOnTheDrainedNodeTheBudgetHoldsTheDrainUntilTheTimeoutThenTheDrainCompletes()
    {
        const int drainTimeoutSeconds = 10;
        // The other node than the first test's, so both nodes are drained once.
        var drained = node.Nodes[1].Name;
        await CreatePinnedDeploymentAsync(drained, replicas: 2);
        await WaitForReadyPodsAsync(drained, 2);
        await StartOperatorAsync();
        await CreateGroupAsync(Group, Group, s => { s.ProtectActive = true; s.DrainTimeoutSeconds = drainTimeoutSeconds; });
        var active = await WaitForActiveAsync(Group, Group);
        await WaitForHealthyAsync(readyStandbys: 1);
        await WaitForProtectionAsync(active);
        await Wait.UntilAsync(async () => (await GetGroupAsync(Group)).Status?.Conditions?.Any(c => c.Type == ConditionTypes.SingleFailureDomain && c.Status == "True"
                && c.Message.Contains($"node {drained}")) == true, Wait.Default, $"SingleFailureDomain True naming node {drained}");

        var clock = Stopwatch.StartNew();
        await using var history = new DrainHistory(Cluster.Watches, Ns, clock);
        await history.SyncedAsync();
        var drainStart = clock.Elapsed;
        var drainTask = DrainAsync(drained);

        // The drain is held: recorded in the status with its start and why, and said once in a Warning.
        ActiveDrain? held = null;
        await Wait.UntilAsync(async () => (held = (await GetGroupAsync(Group)).Status?.ActiveDrain) is not null, Wait.Default, "status.activeDrain",
            () => DescribeAsync(Group, Group));
        var heldSeen = clock.Elapsed;
        Assert.Equal((active, drained, "cordoned"), (held!.Pod, held.Node, held.Reason));
        Assert.Contains("no promotable standby is Ready on a schedulable node", held.Message);
        Corev1Event? blocked = null;
        await Wait.UntilAsync(async () => (blocked = (await EventsAsync(EventReasons.NodeDrainBlocked)).FirstOrDefault(e => e.InvolvedObject.Kind == HighAvailabilityGroup.KindName))
            is not null, Wait.Default, "a NodeDrainBlocked Warning on the group");
        Assert.Equal(EventTypes.Warning, blocked!.Type);
        // Still the active, not evicted, while the drain is held.
        Assert.Null((await Client.CoreV1.ReadNamespacedPodAsync(active, Ns)).Metadata.DeletionTimestamp);

        // After the timeout the operator lifts the budget, with a Warning (written off the reconcile path: waited for).
        Corev1Event? lifted = null;
        await Wait.UntilAsync(async () => (lifted = (await EventsAsync(EventReasons.ProtectionLifted)).SingleOrDefault(e => e.InvolvedObject.Kind == HighAvailabilityGroup.KindName))
            is not null, TimeSpan.FromSeconds(drainTimeoutSeconds) + Wait.Default, "the ProtectionLifted Warning on the group", () => DescribeAsync(Group, Group));
        var liftSeen = clock.Elapsed;
        Assert.Equal(EventTypes.Warning, lifted!.Type);
        Assert.Contains($"spec.drainTimeoutSeconds={drainTimeoutSeconds}", lifted.Message);
        var liftedAt = DateTime.Parse(System.Text.RegularExpressions.Regex.Match(lifted.Message, @"lifted at (\S+) ").Groups[1].Value,
            null, System.Globalization.DateTimeStyles.RoundtripKind);
        // No sooner than drainTimeoutSeconds after the drain was recorded (both instants are the operator's own).
        Assert.True(liftedAt - held.Since!.Value >= TimeSpan.FromSeconds(drainTimeoutSeconds), $"lifted at {liftedAt:O}, {liftedAt - held.Since} after {held.Since:O}");

        var drain = await drainTask;
        var drainDone = clock.Elapsed;
        Output.WriteLine($"--- kubectl drain {drained} (exit {drain.ExitCode}) ---\n{drain.Output}");
        Assert.True(drain.ExitCode == 0, $"kubectl drain failed: {drain.Output}");
        // kubectl's evictions of the active were refused by the budget until it was lifted; then it was evicted as the active.
        Assert.Contains("Cannot evict pod as it would violate the pod's disruption budget", drain.Output);
        var evicted = await history.FirstAsync(active, "evicted");
        Assert.True(evicted.Role == Roles.Active, $"{active} should have been evicted as the active once the budget was lifted, was {evicted.Role}:\n{history.Dump()}");
        Assert.True(evicted.At >= heldSeen, $"{active} evicted at +{evicted.At.TotalMilliseconds:0} ms, before the drain was seen held at +{heldSeen.TotalMilliseconds:0} ms");
        Assert.Null(await PodOrNullAsync(active));

        // Nothing to promote (the replacements wait, Pending, for the cordoned node): no active, no drain to record, the budget back.
        await Wait.UntilAsync(async () => (await GetGroupAsync(Group)).Status is { ActivePod: null, ActiveDrain: null } && await BudgetAsync() is not null,
            Wait.Default, "no active, no activeDrain, and the budget back", () => DescribeAsync(Group, Group));
        var cordon = await history.FirstAsync(drained, "cordoned");
        Output.WriteLine($"without a candidate: drain start -> {drained} cordoned +{(cordon.At - drainStart).TotalMilliseconds:0} ms; " +
                         $"drain seen held +{(heldSeen - drainStart).TotalMilliseconds:0} ms; " +
                         $"protection lifted (Event seen) +{(liftSeen - drainStart).TotalMilliseconds:0} ms; " +
                         $"{active} evicted as {evicted.Role} +{(evicted.At - drainStart).TotalMilliseconds:0} ms; " +
                         $"drain done +{(drainDone - drainStart).TotalMilliseconds:0} ms; kubectl's evictions refused by the budget: {CountRefusals(drain.Output)}; " +
                         $"operator: drain recorded {held.Since:O}, lifted {liftedAt:O} ({(liftedAt - held.Since.Value).TotalSeconds:0.0} s)\n{history.Dump()}");
    }

    /// <summary>How often kubectl drain reports an eviction refused by a budget (it retries every 5 s).</summary>
    private static int CountRefusals(string drainOutput) =>
        System.Text.RegularExpressions.Regex.Matches(drainOutput, "Cannot evict pod as it would violate the pod's disruption budget").Count;
}
