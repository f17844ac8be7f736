using System.Globalization;
using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;
using k8s;
using k8s.Models;

namespace FailoverOperator.IntegrationTests.RealNode;

/// <summary>
/// Issue 15 on two real nodes (hack/node.sh, NODES=2): the operator with --node-lease-stale-seconds
/// against real kubelets. A node is lost by freezing its kubelet (SIGSTOP: its Lease in
/// kube-node-lease is no longer renewed, its containers run on) and, for a partition, by also cutting
/// that node's pod network off the API server (the agents' <see cref="CuttableProxy"/>, per source
/// network: the other node's agents keep working). Each test resumes its kubelets and waits for both
/// nodes to be Ready again; every loss stays below the node controller's 40 s grace period.
/// </summary>
[Collection(RealNodeCollection.Name)]
public partial class NodeLossRealNodeTests(RealNodeCluster node, ITestOutputHelper output) : ClusterTest(node, output)
{
    /// <summary>The suggested threshold: above the kubelet's 10 s renew interval.</summary>
    private const int StaleSeconds = 12;
    private const string HostnameLabel = "kubernetes.io/hostname";

    private AgentPods pods = null!;
    private readonly HashSet<string> stoppedKubelets = [];
    private readonly HashSet<System.Net.IPNetwork> cutNetworks = [];

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        if (node.Nodes.Count < 2) throw new InvalidOperationException("these tests need two nodes of hack/node.sh (NODES=2), node.env names fewer");
        if (!node.NodeEnv.TryGetValue("AGENT_IMAGE", out var image) || image == "none")
        {
            throw new InvalidOperationException("node.env has no AGENT_IMAGE: hack/node.sh was run with AGENT_IMAGE=none");
        }
        pods = new AgentPods(node.NodeEnv["NODE_IP"], image, node.KubeconfigPath, Path.Combine(Path.GetTempPath(), $"failover-hooks-{Ns}"));
        await WaitForNodesReadyAsync();
    }

    public override async Task DisposeAsync()
    {
        Output.WriteLine($"--- hook logs (uptime) ---\n{pods.Dump()}");
        try
        {
            await HealAsync();
            try { Output.WriteLine($"--- agent logs ---\n{await pods.AgentLogsAsync(Client, Plane.KubeconfigPath, Ns)}"); }
            catch (Exception e) { Output.WriteLine($"--- agent logs unavailable: {e.Message}"); }
            await WaitForNodesReadyAsync();
        }
        finally
        {
            try { await base.DisposeAsync(); }
            finally { pods.Dispose(); }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // faults

    /// <summary>The node stops heartbeating: its kubelet frozen, its containers running on.</summary>
    private async Task StopKubeletAsync(string nodeName)
    {
        stoppedKubelets.Add(nodeName);
        await node.StopKubeletAsync(nodeName);
    }

    private async Task StartKubeletAsync(string nodeName)
    {
        await node.StartKubeletAsync(nodeName);
        stoppedKubelets.Remove(nodeName);
    }

    /// <summary>A partition: the node stops heartbeating and its pods lose the API server.</summary>
    private async Task PartitionAsync(string nodeName)
    {
        var network = node.Node(nodeName).PodNetwork;
        cutNetworks.Add(network);
        pods.Proxy.Cut(network);
        await StopKubeletAsync(nodeName);
    }

    private async Task HealAsync()
    {
        foreach (var network in cutNetworks.ToList())
        {
            pods.Proxy.Restore(network);
            cutNetworks.Remove(network);
        }
        foreach (var stopped in stoppedKubelets.ToList()) await StartKubeletAsync(stopped);
    }

    private async Task WaitForNodesReadyAsync() =>
        await Wait.UntilAsync(async () => (await Client.CoreV1.ListNodeAsync()).Items.Count(IsReadyAndUntainted) == node.Nodes.Count,
            TimeSpan.FromSeconds(90), "every node Ready and untainted",
            async () => string.Join("; ", (await Client.CoreV1.ListNodeAsync()).Items.Select(n =>
                $"{n.Metadata.Name}: {string.Join(",", n.Status.Conditions.Select(c => $"{c.Type}={c.Status}"))} taints [{string.Join(",", (n.Spec.Taints ?? []).Select(t => t.Key))}]")));

    private static bool IsReadyAndUntainted(V1Node n) =>
        n.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true
        && !(n.Spec?.Taints ?? []).Any(t => t.Key is "node.kubernetes.io/unreachable" or "node.kubernetes.io/not-ready");

    // ---------------------------------------------------------------------------------------------
    // pods pinned to nodes

    private string OtherNode(string nodeName) => node.Nodes.Single(n => n.Name != nodeName).Name;

    /// <summary>A bare pod made of a Deployment's template, on the node named (its kubernetes.io/hostname).</summary>
    private async Task CreatePodOnAsync(V1Deployment template, string name, string nodeName)
    {
        var spec = template.Spec.Template.Spec;
        spec.NodeSelector = new Dictionary<string, string> { [HostnameLabel] = nodeName };
        // A kubelet resumed after SIGSTOP reports the exec probe it had in flight as failed (seen: a
        // liveness failure, the container restarted, the pod NotReady: a failover no real node loss
        // causes). Three failures in a row are needed here, so that one result does not count.
        foreach (var probe in spec.Containers.SelectMany(c => new[] { c.ReadinessProbe, c.LivenessProbe }).OfType<V1Probe>())
        {
            probe.FailureThreshold = 3;
        }
        await Client.CoreV1.CreateNamespacedPodAsync(new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string>(template.Spec.Template.Metadata.Labels) },
            Spec = spec,
        }, Ns);
    }

    private async Task<V1Pod> PodAsync(string name) => await Client.CoreV1.ReadNamespacedPodAsync(name, Ns);

    private static bool IsReady(V1Pod pod) => pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    private async Task WaitForReadyAsync(params string[] names) =>
        await Wait.UntilAsync(async () =>
            {
                foreach (var name in names) if (!IsReady(await PodAsync(name))) return false;
                return true;
            }, TimeSpan.FromMinutes(2), $"{string.Join(", ", names)} Ready",
            async () => string.Join("; ", await Task.WhenAll(names.Select(async n =>
            {
                var p = await PodAsync(n);
                return $"{n} on {p.Spec.NodeName}: {p.Status?.Phase} ready={IsReady(p)}";
            }))));

    private async Task<string> NodeOfAsync(string pod) => (await PodAsync(pod)).Spec.NodeName;

    /// <summary>Agent mode: a sidecar-agent pod per node (db-1 on node-1, db-2 on node-2), the operator, the group; returns the active and its term.</summary>
    private async Task<(string Active, long Term)> StartAgentGroupAsync(string group, int leaseSeconds, int staleSeconds = StaleSeconds)
    {
        await CreateServiceAccountWithRoleAsync($"{group}-agent", AgentPods.AgentRules(group));
        // A bare pod naming a ServiceAccount is refused until the token controller gave it its token
        // (a Deployment's ReplicaSet would retry; these pods are created once).
        await Wait.UntilAsync(async () => (await Client.CoreV1.ReadNamespacedServiceAccountAsync($"{group}-agent", Ns)).Secrets?.Count > 0,
            Wait.Default, $"the ServiceAccount {group}-agent's token");
        var names = new List<string>();
        foreach (var (n, i) in node.Nodes.Select((n, i) => (n, i + 1)))
        {
            await CreatePodOnAsync(pods.SidecarDeployment(group, node.AppImage, $"{group}-agent"), $"{group}-{i}", n.Name);
            names.Add($"{group}-{i}");
        }
        await WaitForReadyAsync([.. names]);
        await EnsureOperatorAsync(staleSeconds);
        await CreateGroupAsync(group, group, s =>
        {
            s.Fencing = FencingModes.Agent;
            s.LeaseDurationSeconds = leaseSeconds;
        });
        var active = await WaitForActiveAsync(group, group, timeout: TimeSpan.FromSeconds(60));
        var term = await TermAsync(group);
        await PromoteLineAsync(active, term);
        await WaitForHealthyAsync(group, readyStandbys: names.Count - 1);
        return (active, term);
    }

    private bool operatorStarted;

    /// <summary>One operator per test (the figures run several groups under it).</summary>
    private async Task EnsureOperatorAsync(int staleSeconds = StaleSeconds)
    {
        if (operatorStarted) return;
        await StartOperatorAsync(args: [$"--node-lease-stale-seconds={staleSeconds}"]);
        operatorStarted = true;
    }

    /// <summary>
    /// Label mode: a probed busybox pod per node (GROUP-1 on node-1, GROUP-2 on node-2), a Service GROUP
    /// over the active, the operator, the group; returns the active once the Endpoints list it alone.
    /// </summary>
    private async Task<string> StartLabelGroupAsync(string group, int leaseSeconds = 15)
    {
        var names = new List<string>();
        foreach (var (n, i) in node.Nodes.Select((n, i) => (n, i + 1)))
        {
            await CreatePodOnAsync(ProbedWorkload.Deployment(group, node.AppImage, "Never"), $"{group}-{i}", n.Name);
            names.Add($"{group}-{i}");
        }
        await WaitForReadyAsync([.. names]);
        await Cluster.CreateActiveServiceAsync(Ns, group, group);
        await EnsureOperatorAsync();
        await CreateGroupAsync(group, group, s =>
        {
            s.Fencing = FencingModes.Label;
            s.LeaseDurationSeconds = leaseSeconds;
        });
        var active = await WaitForActiveAsync(group, group);
        await WaitForEndpointsAsync(group, active, Wait.Default);
        await WaitForHealthyAsync(group, readyStandbys: names.Count - 1);
        return active;
    }

    /// <summary>Waits until the Service's Endpoints list <paramref name="pod"/>'s address and nothing else.</summary>
    private async Task WaitForEndpointsAsync(string service, string pod, TimeSpan timeout)
    {
        var ip = (await PodAsync(pod)).Status.PodIP;
        await Wait.UntilAsync(async () => (await Cluster.EndpointIpsAsync(Ns, service)).SequenceEqual([ip]), timeout,
            $"the Endpoints of {service} to list only {pod} ({ip})",
            async () => $"endpoints [{string.Join(",", await Cluster.EndpointIpsAsync(Ns, service))}]; {await DescribeAsync(service, service)}");
    }

    /// <summary>status.lastFailover once it names <paramref name="to"/> (the labels move before the status is written).</summary>
    private async Task<FailoverRecord> LastFailoverAsync(string group, string to)
    {
        FailoverRecord? failover = null;
        await Wait.UntilAsync(async () => (failover = (await GetGroupAsync(group)).Status?.LastFailover)?.To == to, Wait.Default,
            $"{group}'s status.lastFailover to name {to}", () => DescribeAsync(group, group));
        return failover!;
    }

    private async Task<long> TermAsync(string group) => (await GetLeaseAsync(group))!.Spec.LeaseTransitions ?? 0;

    private async Task WaitForHealthyAsync(string group, int readyStandbys, TimeSpan? timeout = null) =>
        await Wait.UntilAsync(async () => (await GetGroupAsync(group)).Status is { } s && s.Phase == GroupPhase.Healthy && s.ReadyStandbys == readyStandbys,
            timeout ?? Wait.Default, $"{group} Healthy with {readyStandbys} Ready standby(s)", () => DescribeAsync(group, group));

    private async Task<LogLine> WaitForLineAsync(string what, Func<LogLine, bool> match, TimeSpan? timeout = null)
    {
        LogLine? found = null;
        await Wait.UntilAsync(() => Task.FromResult((found = pods.Lines().FirstOrDefault(match)) is not null), timeout ?? Wait.Default,
            what, () => Task.FromResult(pods.Dump()));
        return found!;
    }

    private Task<LogLine> PromoteLineAsync(string pod, long term) =>
        WaitForLineAsync($"{pod}'s promote hook for term {term}", l => l.Pod == pod && l.What == "active" && l.Term == term);

    private Task<LogLine> DemoteLineAsync(string pod, long term) =>
        WaitForLineAsync($"{pod}'s demote hook for term {term}", l => l.Pod == pod && l.What == "standby" && l.Term == term);

    private async Task<string> WaitForFencedEventAsync(string pod, long term, string proof)
    {
        string? message = null;
        await Wait.UntilAsync(async () => (message = (await EventsAsync(EventReasons.Fenced)).Select(e => e.Message)
                .FirstOrDefault(m => m.Contains($"pod {pod} stopped acting in term {term}: ", StringComparison.Ordinal))) is not null,
            Wait.Default, $"a Fenced event: {pod}, term {term}",
            async () => string.Join(" | ", (await EventsAsync(EventReasons.Fenced)).Select(e => e.Message)));
        Assert.True(message!.Contains(proof, StringComparison.Ordinal), $"the Fenced event should name {proof} as the proof: {message}");
        return message;
    }

    // ---------------------------------------------------------------------------------------------
    // tests

    [Fact]
    public async Task APartitionedNodesActiveDemotesItselfBeforeAStandbyOnTheOtherNodeIsPromotedAndRejoinsAsStandbyWhenItHeals()
    {
        // Longer than the node-loss detection (at most StaleSeconds after the stop): the cut-off agent's
        // unrenewed Lease (seen 2/3 of a lease after the cut at the earliest) must not be noticed first.
        // The fencing wait (a lease from the operator's write) keeps the partition under the 40 s grace period.
        const int leaseSeconds = 20;
        var (old, term) = await StartAgentGroupAsync("db", leaseSeconds);
        var lost = await NodeOfAsync(old);
        var partitionedAt = AgentPods.Uptime();
        await PartitionAsync(lost);

        var next = await WaitForActiveAsync("db", "db", a => a != old, TimeSpan.FromSeconds(60));
        Assert.Equal(OtherNode(lost), await NodeOfAsync(next));
        Assert.Equal(term + 1, await TermAsync("db"));
        var failover = await LastFailoverAsync("db", next);
        Assert.Equal((old, FailoverReasons.NodeLost), (failover.From, failover.Reason));
        var promote = await PromoteLineAsync(next, term + 1);
        // The isolated old active's own log: it demoted itself (its renewals failed) before the new one's promote hook ran.
        var demote = await DemoteLineAsync(old, term);
        Assert.Equal("RenewalDeadlinePassed", demote.Reason);
        Assert.True(demote.At < promote.At, $"{old} demoted itself at {demote.At}, after {next}'s promote hook ran at {promote.At}");
        await WaitForFencedEventAsync(old, term, "its lease expired");
        Output.WriteLine($"partition of {lost}: {old} demoted itself {demote.At - partitionedAt:0.0} s after it, {next} promoted {promote.At - partitionedAt:0.0} s after it");
        // Still within the node controller's grace period: the lost node's pods still say Ready.
        Assert.True(IsReady(await PodAsync(old)), $"{old} should still be reported Ready (the node controller has not acted yet)");

        // Healing: the old pod's agent reaches the API server again, acknowledges its term and stays a standby.
        await HealAsync();
        await Wait.UntilAsync(async () => (await PodAsync(old)).Metadata.Annotations?.TryGetValue(Roles.DemotedTermAnnotation, out var t) == true
                && t == term.ToString(CultureInfo.InvariantCulture),
            Wait.Default, $"{old}'s agent to acknowledge term {term} once it reaches the API server again");
        await WaitForHealthyAsync("db", readyStandbys: 1);
        Assert.Equal(next, (await GetLeaseAsync("db"))!.Spec.HolderIdentity);
        Assert.Equal(Roles.Standby, (await RolesAsync("db"))[old]);
        Assert.DoesNotContain(pods.Lines(), l => l.Pod == old && l.What == "active" && l.At > demote.At);
        Assert.Null(ActingInterval.Problem(ActingInterval.FromHooks(pods.Lines())));
    }

    [Fact]
    public async Task AStoppedKubeletWhosePodsStillReachTheApiServerIsFencedByTheAgentsAcknowledgementWithoutWaitingOutTheLease()
    {
        // A lease far longer than the wait below: only the acknowledgement can end the fencing wait in time.
        const int leaseSeconds = 120;
        var (old, term) = await StartAgentGroupAsync("db", leaseSeconds);
        var lost = await NodeOfAsync(old);
        var stoppedAt = DateTimeOffset.UtcNow;
        await StopKubeletAsync(lost);

        var next = await WaitForActiveAsync("db", "db", a => a != old, TimeSpan.FromSeconds(StaleSeconds + 20));
        Assert.True(DateTimeOffset.UtcNow - stoppedAt < TimeSpan.FromSeconds(leaseSeconds), "the lease cannot have expired yet");
        Assert.Equal(OtherNode(lost), await NodeOfAsync(next));
        var failover = await LastFailoverAsync("db", next);
        Assert.Equal((old, FailoverReasons.NodeLost), (failover.From, failover.Reason));
        var message = await WaitForFencedEventAsync(old, term, $"its agent acknowledged giving up term {term}");
        Assert.DoesNotContain("expired", message);
        Assert.Equal(term.ToString(CultureInfo.InvariantCulture), (await PodAsync(old)).Metadata.Annotations[Roles.DemotedTermAnnotation]);
        var demote = await DemoteLineAsync(old, term);
        var promote = await PromoteLineAsync(next, term + 1);
        Assert.Equal(FailoverReasons.NodeLost, demote.Reason);
        Assert.True(demote.At <= promote.At, $"{old}'s demote hook at {demote.At} ran after {next}'s promote hook at {promote.At}");

        await StartKubeletAsync(lost);
        await WaitForHealthyAsync("db", readyStandbys: 1);
        Assert.Equal(next, (await GetLeaseAsync("db"))!.Spec.HolderIdentity);
    }

    [Fact]
    public async Task InLabelModeTheServiceEndpointsMoveToTheOtherNodeWithinTheThreshold()
    {
        var old = await StartLabelGroupAsync("web");
        var lost = await NodeOfAsync(old);
        var next = (await RolesAsync("web")).Keys.Single(p => p != old);
        Assert.Equal(OtherNode(lost), await NodeOfAsync(next));
        await StopKubeletAsync(lost);
        // The heartbeat is stale at most StaleSeconds after the stop (the last renewal came before it),
        // plus the operator's reaction and the endpoints controller's update.
        await WaitForEndpointsAsync("web", next, TimeSpan.FromSeconds(StaleSeconds + 8));
        var failover = await LastFailoverAsync("web", next);
        Assert.Equal((old, FailoverReasons.NodeLost), (failover.From, failover.Reason));
        // Traffic only: the old active's process still runs on the lost node (its dockerd says so).
        Assert.True(await ContainerRunningAsync(old), $"{old}'s container should still run on {lost}");

        await StartKubeletAsync(lost);
        await WaitForHealthyAsync("web", readyStandbys: 1);
        Assert.Equal(next, await WaitForActiveAsync("web", "web"));
    }

    [Fact]
    public async Task AHeartbeatLateByLessThanTheThresholdChangesNothing()
    {
        // A threshold well above the kubelet's 10 s renew interval, and a freeze that makes one renewal
        // clearly late (about 15 s apart instead of 10) yet still in time.
        const int staleSeconds = 22;
        var freeze = TimeSpan.FromSeconds(15);
        var (active, term) = await StartAgentGroupAsync("db", leaseSeconds: 10, staleSeconds);
        var lostNode = await NodeOfAsync(active);
        // Right after a renewal, so the freeze delays the next one by what it lasts beyond the 10 s.
        var renewed = await NodeLeaseRenewTimeAsync(lostNode);
        await Wait.UntilAsync(async () => await NodeLeaseRenewTimeAsync(lostNode) != renewed, TimeSpan.FromSeconds(20), $"a renewal of {lostNode}'s Lease");
        renewed = await NodeLeaseRenewTimeAsync(lostNode);
        await StopKubeletAsync(lostNode);
        var stoppedAt = DateTimeOffset.UtcNow;
        await Wait.UntilAsync(() => Task.FromResult(DateTimeOffset.UtcNow - stoppedAt >= freeze), freeze + TimeSpan.FromSeconds(5), "the freeze to last");
        await StartKubeletAsync(lostNode);
        await Wait.UntilAsync(async () => await NodeLeaseRenewTimeAsync(lostNode) != renewed, TimeSpan.FromSeconds(20), $"{lostNode}'s Lease renewed again");
        var gap = (await NodeLeaseRenewTimeAsync(lostNode))!.Value - renewed!.Value;
        Output.WriteLine($"{lostNode}'s heartbeat came {gap.TotalSeconds:0.0} s after the previous one (threshold {staleSeconds} s)");
        Assert.True(gap > TimeSpan.FromSeconds(12), $"the stimulus: a renewal later than the usual 10 s, got {gap.TotalSeconds:0.0} s");

        // Past the point where a failover would have happened (threshold after the stop, plus a margin):
        // the holder, the term and the status stay.
        var until = stoppedAt + TimeSpan.FromSeconds(staleSeconds + 5);
        while (DateTimeOffset.UtcNow < until)
        {
            var lease = (await GetLeaseAsync("db"))!.Spec;
            Assert.Equal((active, term), (lease.HolderIdentity, (long)(lease.LeaseTransitions ?? 0)));
            var status = (await GetGroupAsync("db")).Status!;
            Assert.True(status.ActiveFailure is null && status.Phase == GroupPhase.Healthy,
                $"the group should stay Healthy without an active failure: phase {status.Phase}, failure {status.ActiveFailure?.Reason}");
            await Task.Delay(500);
        }
        Assert.DoesNotContain(pods.Lines(), l => (l.Pod == active && l.What == "standby") || (l.Pod != active && l.What == "active"));
    }

    [Fact]
    public async Task AStandbyOnTheFailedActivesNodeIsChosenLast()
    {
        // db-a1 and db-a2 on one node, db-b on the other, each created once the previous is Ready: without
        // the node rule db-a2 (Ready longer than db-b, and first by name) would follow the active db-a1.
        var nodeA = node.Nodes[0].Name;
        var nodeB = node.Nodes[1].Name;
        foreach (var (name, on) in new[] { ("db-a1", nodeA), ("db-a2", nodeA), ("db-b", nodeB) })
        {
            await CreatePodOnAsync(ProbedWorkload.Deployment("db", node.AppImage, "Never"), name, on);
            await WaitForReadyAsync(name);
        }
        await EnsureOperatorAsync();
        await CreateGroupAsync("db", "db", s => s.Fencing = FencingModes.Label);
        Assert.Equal("db-a1", await WaitForActiveAsync("db", "db"));
        await WaitForHealthyAsync("db", readyStandbys: 2);

        var result = await ProbedWorkload.ExecAsync(Plane.KubeconfigPath, Ns, "db-a1", ["rm", ProbedWorkload.ReadyFile], TimeSpan.FromSeconds(20));
        Assert.True(result.ExitCode == 0, result.Output);
        Assert.Equal("db-b", await WaitForActiveAsync("db", "db", a => a != "db-a1", TimeSpan.FromSeconds(60)));
        Assert.True(IsReady(await PodAsync("db-a2")), "db-a2 was Ready, and passed over for being on the failed active's node");
        Assert.Equal(FailoverReasons.NotReady, (await GetGroupAsync("db")).Status!.LastFailover!.Reason);
    }

    /// <summary>Asks the dockerd of the pod's node whether the pod's first container runs.</summary>
    private async Task<bool> ContainerRunningAsync(string pod)
    {
        var p = await PodAsync(pod);
        var id = p.Status.ContainerStatuses[0].ContainerID["docker://".Length..];
        var result = await ProcessRunner.RunCheckedAsync(node.NodeEnv["DOCKER"],
            ["-H", node.Node(p.Spec.NodeName).DockerHost, "inspect", "--format", "{{.State.Running}}", id], TimeSpan.FromSeconds(30));
        return result.Stdout.Trim() == "true";
    }

    private async Task<DateTime?> NodeLeaseRenewTimeAsync(string nodeName) =>
        (await Client.CoordinationV1.ReadNamespacedLeaseAsync(nodeName, "kube-node-lease")).Spec.RenewTime;
}
