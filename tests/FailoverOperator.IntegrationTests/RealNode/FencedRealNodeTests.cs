using System.Diagnostics;
using System.Globalization;
using System.Net;
using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;
using k8s;
using k8s.Models;

namespace FailoverOperator.IntegrationTests.RealNode;

/// <summary>
/// Issue 14, section 3: spec.fencing Agent with failover-agent running inside real pods on the real
/// node (hack/node.sh). The application-level split-brain record is the pods' own hook and command
/// logs (<see cref="AgentPods"/>): every promotion and demotion with its term, on one clock.
/// </summary>
[Collection(RealNodeCollection.Name)]
public partial class FencedRealNodeTests(RealNodeCluster node, ITestOutputHelper output) : ClusterTest(node, output)
{
    private AgentPods pods = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        if (!node.NodeEnv.TryGetValue("NODE_IP", out var ip)) throw new InvalidOperationException("node.env has no NODE_IP: these tests need hack/node.sh's node");
        if (!node.NodeEnv.TryGetValue("AGENT_IMAGE", out var image) || image == "none")
        {
            throw new InvalidOperationException("node.env has no AGENT_IMAGE: hack/node.sh was run with AGENT_IMAGE=none");
        }
        pods = new AgentPods(ip, image, node.KubeconfigPath, Path.Combine(Path.GetTempPath(), $"failover-hooks-{Ns}"));
    }

    public override async Task DisposeAsync()
    {
        Output.WriteLine($"--- hook and command logs (uptime) ---\n{pods.Dump()}\n--- hook attempts ---\n{string.Join('\n', pods.Attempts())}");
        try { Output.WriteLine($"--- agent logs ---\n{await pods.AgentLogsAsync(Client, Plane.KubeconfigPath, Ns)}"); }
        catch (Exception e) { Output.WriteLine($"--- agent logs unavailable: {e.Message}"); }
        try { await base.DisposeAsync(); }
        finally { pods.Dispose(); }
    }

    // ---------------------------------------------------------------------------------------------
    // setup

    private async Task<(string Active, long Term)> StartGroupAsync(string group, V1Deployment deployment, int leaseSeconds, int failoverDelaySeconds = 0)
    {
        await CreateServiceAccountWithRoleAsync($"{group}-agent", AgentPods.AgentRules(group));
        await Client.AppsV1.CreateNamespacedDeploymentAsync(deployment, Ns);
        await Wait.UntilAsync(async () => (await ReadyPodsAsync(group)).Count == deployment.Spec.Replicas, TimeSpan.FromMinutes(2),
            $"{deployment.Spec.Replicas} Ready pods of {group}", () => PodStatesAsync(group));
        if (!operatorStarted)
        {
            await StartOperatorAsync();
            operatorStarted = true;
        }
        await CreateGroupAsync(group, group, s =>
        {
            s.Fencing = FencingModes.Agent;
            s.LeaseDurationSeconds = leaseSeconds;
            s.FailoverDelaySeconds = failoverDelaySeconds;
        });
        var active = await WaitForActiveAsync(group, group, timeout: TimeSpan.FromSeconds(60));
        return (active, await TermAsync(group));
    }

    private bool operatorStarted;

    private Task<(string Active, long Term)> StartSidecarGroupAsync(string group, int leaseSeconds) =>
        StartGroupAsync(group, pods.SidecarDeployment(group, node.AppImage, $"{group}-agent"), leaseSeconds);

    private async Task<long> TermAsync(string group) => (await GetLeaseAsync(group))!.Spec.LeaseTransitions ?? 0;

    private async Task<List<V1Pod>> PodsAsync(string app) =>
        (await Client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: $"app={app}")).Items.Where(p => p.Metadata.DeletionTimestamp is null).ToList();

    private async Task<List<V1Pod>> ReadyPodsAsync(string app) => (await PodsAsync(app)).Where(IsReady).ToList();

    private static bool IsReady(V1Pod pod) => pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    private async Task<string> PodStatesAsync(string app) =>
        string.Join("; ", (await Client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: $"app={app}")).Items.Select(p =>
            $"{p.Metadata.Name} {p.Status?.Phase} ready={IsReady(p)} " +
            string.Join(",", (p.Status?.ContainerStatuses ?? []).Select(c => $"{c.Name}:{(c.State?.Running is not null ? "running" : c.State?.Waiting?.Reason ?? c.State?.Terminated?.Reason)}/r{c.RestartCount}"))));

    private async Task ExecAsync(string pod, params string[] command)
    {
        var result = await ProbedWorkload.ExecAsync(Plane.KubeconfigPath, Ns, pod, command, TimeSpan.FromSeconds(20));
        Assert.True(result.ExitCode == 0, $"kubectl exec {pod} -- {string.Join(' ', command)} failed ({result.ExitCode}): {result.Output}");
    }

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

    /// <summary>
    /// Causes a failure of the active, waits for a new active, and checks the order the issue asks
    /// for: the new active's promote hook runs with term N+1 after the old one's demote hook for term N.
    /// </summary>
    private async Task<(string Active, long Term)> FailOverAsync(string group, string old, long term, string cause, Func<Task> act)
    {
        var clock = Stopwatch.StartNew();
        await act();
        var next = await WaitForActiveAsync(group, group, a => a != old, TimeSpan.FromSeconds(90));
        var newTerm = await TermAsync(group);
        Assert.Equal(term + 1, newTerm);
        var promote = await PromoteLineAsync(next, newTerm);
        var demote = await DemoteLineAsync(old, term);
        Assert.True(demote.At <= promote.At, $"{cause}: {old}'s demote hook (term {term}) at {demote.At} ran after {next}'s promote hook (term {newTerm}) at {promote.At}");
        Output.WriteLine($"{cause}: {old} demoted (term {term}, {demote.Reason}), {next} promoted (term {newTerm}, {promote.Reason}) " +
            $"{(promote.At - demote.At) * 1000:0} ms later; new active seen {clock.ElapsedMilliseconds} ms after the cause");
        return (next, newTerm);
    }

    private void AssertNoOverlap(List<ActingInterval> intervals)
    {
        Output.WriteLine("acting intervals: " + string.Join("; ", intervals));
        Assert.Null(ActingInterval.Problem(intervals));
    }

    private async Task<string> ContainerIdAsync(string pod, string container)
    {
        var status = (await Client.CoreV1.ReadNamespacedPodAsync(pod, Ns)).Status.ContainerStatuses.Single(c => c.Name == container);
        return status.ContainerID["docker://".Length..];
    }

    /// <summary>The node <paramref name="pod"/> runs on (its dockerd, its cgroups).</summary>
    private async Task<LocalNode> NodeOfAsync(string pod) => node.Node((await Client.CoreV1.ReadNamespacedPodAsync(pod, Ns)).Spec.NodeName);

    /// <summary>docker, talking to the dockerd of the node <paramref name="pod"/> runs on.</summary>
    private async Task<string> DockerAsync(string pod, params string[] args)
    {
        var result = await ProcessRunner.RunCheckedAsync(node.NodeEnv["DOCKER"], ["-H", (await NodeOfAsync(pod)).DockerHost, .. args], TimeSpan.FromSeconds(60));
        return result.Stdout.Trim();
    }

    /// <summary>
    /// docker unpause. A `runc exec` that began while the containers were paused (the kubelet's exec probe,
    /// every second) hangs frozen inside them and holds them, and unpause then waits for it: in that case
    /// the containers' freezer cgroups are thawed directly, as unpause would have, which lets both finish.
    /// </summary>
    private async Task UnpauseAsync(LocalNode on, string[] containers)
    {
        try
        {
            await ProcessRunner.RunCheckedAsync(node.NodeEnv["DOCKER"], ["-H", on.DockerHost, "unpause", .. containers], TimeSpan.FromSeconds(15));
            return;
        }
        catch (TimeoutException)
        {
            Output.WriteLine("docker unpause hung behind an exec into the paused containers; thawing their cgroups");
        }
        // The processes run again once their cgroups are thawed; docker's own record of the pause catches
        // up when its pending unpause gets through (what the rest of the test reads is the pods, not docker).
        var freezer = "/sys/fs/cgroup/freezer" + on.CgroupRoot;
        var states = Directory.EnumerateFiles(freezer, "freezer.state", SearchOption.AllDirectories)
            .Where(f => containers.Any(c => f.Contains(c, StringComparison.Ordinal))).ToList();
        Assert.NotEmpty(states);
        foreach (var state in states) await File.WriteAllTextAsync(state, "THAWED");
        await Wait.UntilAsync(() => Task.FromResult(states.All(f => File.ReadAllText(f).Trim() == "THAWED")), Wait.Default, "the containers' processes to run again");
    }

    private async Task<string> AgentRoleAsync(string pod, string container)
    {
        var result = await ProbedWorkload.RunKubectlAsync(["exec", "-n", Ns, pod, "-c", container, "--kubeconfig", Plane.KubeconfigPath, "--",
            "wget", "-qO-", "http://127.0.0.1:8095/role"], TimeSpan.FromSeconds(20));
        return result.Output;
    }

    private async Task WaitForFencedEventAsync(string pod, long term, string proof) =>
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.Fenced)).Any(e => e.Message.Contains($"pod {pod} stopped acting in term {term}: {proof}")),
            Wait.Default, $"a Fenced event: {pod}, term {term}, {proof}",
            async () => string.Join(" | ", (await EventsAsync(EventReasons.Fenced)).Select(e => e.Message)));

    private async Task<List<Corev1Event>> PodEventsAsync(string pod, string reason) =>
        (await EventsAsync(reason)).Where(e => e.InvolvedObject?.Name == pod).ToList();

    // ---------------------------------------------------------------------------------------------
    // tests

    [Fact]
    public async Task SidecarHooksOrderEveryFailoverByTermAndNeverOverlap()
    {
        var (active, term) = await StartSidecarGroupAsync("db", leaseSeconds: 10);
        await PromoteLineAsync(active, term);

        var first = active;
        (active, term) = await FailOverAsync("db", active, term, "readiness failure", () => ExecAsync(first, "rm", ProbedWorkload.ReadyFile));
        // The old agent, demoted, handed the Lease to the new active itself: the operator only labelled it.
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.LastFailover?.Term == term, Wait.Default, "the failover recorded");
        Assert.Equal(FencingProofs.HandedOver, (await GetGroupAsync("db")).Status!.LastFailover!.Proof);
        await ExecAsync(first, "touch", ProbedWorkload.ReadyFile);

        var second = active;
        (active, term) = await FailOverAsync("db", active, term, "liveness failure", () => ExecAsync(second, "rm", ProbedWorkload.AliveFile));
        Assert.Equal(FailoverReasons.NotReady, (await GetGroupAsync("db")).Status!.LastFailover!.Reason);
        await Wait.UntilAsync(async () => (await ReadyPodsAsync("db")).Count == 3, TimeSpan.FromSeconds(60), "3 Ready pods again", () => PodStatesAsync("db"));

        var third = active;
        (active, term) = await FailOverAsync("db", active, term, "pod deletion", () => Client.CoreV1.DeleteNamespacedPodAsync(third, Ns));
        // Planned: the operator saw the pod Terminating (or the agent got SIGTERM first and handed the Lease back).
        var deleted = await DemoteLineAsync(third, term - 1);
        Assert.Contains(deleted.Reason, new[] { "Terminating", "Stopped" });
        Assert.Contains("planned=true", deleted.Text);
        await WaitForFencedEventAsync(third, term - 1, "its agent acknowledged");

        // A planned stop of every pod: the rollout replaces them one by one; each stop of the active is a failover.
        var before = (await PodsAsync("db")).Select(p => p.Metadata.Name).ToHashSet();
        await Client.AppsV1.PatchNamespacedDeploymentAsync(new V1Patch(new
        {
            spec = new { template = new { metadata = new { annotations = new Dictionary<string, string> { ["restartedAt"] = DateTime.UtcNow.ToString("O") } } } },
        }, V1Patch.PatchType.MergePatch), "db", Ns);
        await Wait.UntilAsync(async () =>
        {
            var now = await PodsAsync("db");
            var all = (await Client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: "app=db")).Items;
            return all.Count == 3 && now.Count == 3 && now.All(p => !before.Contains(p.Metadata.Name) && IsReady(p));
        }, TimeSpan.FromMinutes(3), "the rollout to replace every pod", () => PodStatesAsync("db"));
        var last = await WaitForActiveAsync("db", "db", a => !before.Contains(a), TimeSpan.FromSeconds(60));
        var lastTerm = await TermAsync("db");
        Assert.True(lastTerm > term, $"the rollout stopped the active {active} but the term stayed {term}");
        await PromoteLineAsync(last, lastTerm);
        await DemoteLineAsync(active, term);

        var intervals = ActingInterval.FromHooks(pods.Lines());
        AssertNoOverlap(intervals);
        // Every term from the first to the last was acted in once, in order.
        Assert.Equal(Enumerable.Range((int)intervals[0].Term, (int)(lastTerm - intervals[0].Term + 1)).Select(t => (long)t), intervals.Select(i => i.Term));
    }

    [Fact]
    public async Task TheWrappedCommandRunsInOnePodAtATimeAndDiesWithAKilledAgent()
    {
        const int leaseSeconds = 4;
        var (active, term) = await StartGroupAsync("worker", pods.WrapperDeployment("worker", "worker-agent"), leaseSeconds);
        await WaitForLineAsync($"the command started in {active}", l => l.Pod == active && l.What == "start" && l.Term == term);

        // A pod deletion: SIGTERM to the agent, which stops the command (its stop line) and hands over.
        var deleted = active;
        await Client.CoreV1.DeleteNamespacedPodAsync(deleted, Ns);
        active = await WaitForActiveAsync("worker", "worker", a => a != deleted, TimeSpan.FromSeconds(60));
        term = await TermAsync("worker");
        var started = await WaitForLineAsync($"the command started in {active}", l => l.Pod == active && l.What == "start" && l.Term == term);
        var stopped = await WaitForLineAsync($"the command stopped in {deleted}", l => l.Pod == deleted && l.What == "stop");
        Assert.True(stopped.At <= started.At, $"{deleted}'s command stopped at {stopped.At}, after {active}'s started at {started.At}");

        // SIGKILL to the active's agent (process 1 of its container), the pod staying Ready. Its container
        // restarts, but waits while the hold file exists: an agent that does not come back within the lease.
        // A failover delay rides out the moment the container is restarting (its pod briefly not Ready),
        // so what ends the active's term is its Lease going unrenewed, not that blip.
        await PatchGroupSpecAsync("worker", new { failoverDelaySeconds = 3 });
        var killed = active;
        File.WriteAllText(pods.HoldFile(killed), "");
        var pid = await DockerAsync(killed, "inspect", "--format", "{{.State.Pid}}", await ContainerIdAsync(killed, "worker"));
        var killedAt = AgentPods.Uptime();
        await ProcessRunner.RunCheckedAsync("kill", ["-KILL", pid], TimeSpan.FromSeconds(10));
        active = await WaitForActiveAsync("worker", "worker", a => a != killed, TimeSpan.FromSeconds(60));
        var killedTerm = term;
        term = await TermAsync("worker");
        Assert.Equal(killedTerm + 1, term);
        var status = (await GetGroupAsync("worker")).Status!;
        Output.WriteLine($"after the SIGKILL: failover {status.LastFailover!.From} -> {status.LastFailover.To}, reason {status.LastFailover.Reason}");
        Assert.Equal((killed, FailoverReasons.LeaseExpired), (status.LastFailover.From, status.LastFailover.Reason));
        Assert.True(IsReady(await Client.CoreV1.ReadNamespacedPodAsync(killed, Ns)), $"{killed} should have stayed Ready (the scenario is a lost agent, not a failed pod)");
        await WaitForFencedEventAsync(killed, killedTerm, "its lease expired");
        started = await WaitForLineAsync($"the command started in {active}", l => l.Pod == active && l.What == "start" && l.Term == term);
        var lastOfKilled = pods.Lines().Last(l => l.Pod == killed);
        Assert.True(lastOfKilled.At < started.At, $"{killed}'s command wrote at {lastOfKilled.At}, after {active}'s started at {started.At}");
        Output.WriteLine($"{killed}'s command last wrote {(lastOfKilled.At - killedAt) * 1000:0} ms after the SIGKILL; {active}'s started {(started.At - killedAt) * 1000:0} ms after it");

        // The agent comes back: a standby, and its command does not run.
        File.Delete(pods.HoldFile(killed));
        await Wait.UntilAsync(async () => (await AgentRoleAsync(killed, "worker")).Contains("\"role\":\"standby\""), TimeSpan.FromSeconds(60),
            $"{killed}'s restarted agent to answer as a standby", () => AgentRoleAsync(killed, "worker"));
        Assert.Equal(active, await WaitForActiveAsync("worker", "worker"));
        Assert.DoesNotContain(pods.Lines(), l => l.Pod == killed && l.At > killedAt && l.What == "start");

        AssertNoOverlap(ActingInterval.FromCommand(pods.Lines()));
    }

    [Fact]
    public async Task AnAgentCutOffOrFrozenDemotesItselfAndTheNewActiveWaitsForTheLeaseExpiry()
    {
        const int leaseSeconds = 5;
        var (active, term) = await StartSidecarGroupAsync("db", leaseSeconds);
        await PromoteLineAsync(active, term);

        // 1. The active's agent cut off from the API server; its pod stays Ready.
        var cut = active;
        var cutTerm = term;
        var ip = IPAddress.Parse((await Client.CoreV1.ReadNamespacedPodAsync(cut, Ns)).Status.PodIP);
        var cutAt = AgentPods.Uptime();
        pods.Proxy.Cut(ip);
        active = await WaitForActiveAsync("db", "db", a => a != cut, TimeSpan.FromSeconds(90));
        term = await TermAsync("db");
        Assert.Equal(cutTerm + 1, term);
        var promote = await PromoteLineAsync(active, term);
        var demote = await DemoteLineAsync(cut, cutTerm);
        Assert.Equal("RenewalDeadlinePassed", demote.Reason);
        Assert.True(demote.At < promote.At, $"{cut} demoted at {demote.At}, after {active} was promoted at {promote.At}");
        Assert.True(IsReady(await Client.CoreV1.ReadNamespacedPodAsync(cut, Ns)), $"{cut} should have stayed Ready");
        await WaitForFencedEventAsync(cut, cutTerm, "its lease expired");
        Output.WriteLine($"cut off (lease {leaseSeconds} s): {cut} demoted itself {(demote.At - cutAt) * 1000:0} ms after the cut, " +
            $"{active} promoted {(promote.At - cutAt) * 1000:0} ms after it");

        // The cut heals: the old agent writes its acknowledgement and stays a standby.
        pods.Proxy.Restore(ip);
        await Wait.UntilAsync(async () =>
                (await Client.CoreV1.ReadNamespacedPodAsync(cut, Ns)).Metadata.Annotations?.TryGetValue(Roles.DemotedTermAnnotation, out var t) == true
                && t == cutTerm.ToString(CultureInfo.InvariantCulture),
            Wait.Default, $"{cut}'s agent to acknowledge term {cutTerm} once it reaches the API server again");
        Assert.Equal(Roles.Standby, (await RolesAsync("db"))[cut]);
        Assert.Contains("\"role\":\"standby\"", await AgentRoleAsync(cut, "agent"));
        AssertNoOverlap(ActingInterval.FromHooks(pods.Lines()));

        // 2. The active frozen (docker pause of its agent, which holds the role and runs the hooks) until a
        // standby took over after the expiry. Not the app container too: the kubelet execs its probes into it
        // every second, and an exec that starts while it is paused can freeze inside it and make docker
        // unpause wait forever (a runc race this test met in 2 of 12 runs).
        var frozen = active;
        var frozenTerm = term;
        string[] containers = [await ContainerIdAsync(frozen, "agent")];
        var frozenNode = await NodeOfAsync(frozen);
        await DockerAsync(frozen, ["pause", .. containers]);
        var frozenAt = AgentPods.Uptime();
        double resumedAt;
        try
        {
            active = await WaitForActiveAsync("db", "db", a => a != frozen, TimeSpan.FromSeconds(90));
            term = await TermAsync("db");
            await WaitForFencedEventAsync(frozen, frozenTerm, "its lease expired");
            promote = await PromoteLineAsync(active, term);
        }
        finally
        {
            resumedAt = AgentPods.Uptime();
            await UnpauseAsync(frozenNode, containers);
        }
        Assert.True(term > frozenTerm);
        // It wakes past its deadline: it demotes before doing anything else — for its deadline, or for the
        // Lease reading naming another holder, whichever of the two it processes first on waking.
        demote = await DemoteLineAsync(frozen, frozenTerm);
        Assert.Contains(demote.Reason, new[] { "RenewalDeadlinePassed", FailoverReasons.LeaseExpired, FailoverReasons.NotReady });
        Assert.True(demote.At >= resumedAt && demote.At > promote.At,
            $"{frozen}'s demote hook ran at {demote.At}; expected after it was resumed ({resumedAt}) — it was frozen while {active} was promoted at {promote.At}");
        Assert.DoesNotContain(pods.Lines(), l => l.Pod == frozen && l.At > frozenAt && l.What == "active");
        Output.WriteLine($"frozen: {frozen} (term {frozenTerm}) paused at {frozenAt:0.00}, {active} promoted in term {term} at {promote.At:0.00}, " +
            $"{frozen} resumed at {resumedAt:0.00} and demoted at {demote.At:0.00}");
        await Wait.UntilAsync(async () => (await AgentRoleAsync(frozen, "agent")).Contains("\"role\":\"standby\""), Wait.Default,
            $"{frozen}'s agent to answer as a standby");
        Assert.Equal(active, await WaitForActiveAsync("db", "db"));
    }

    [Fact]
    public async Task HookFailuresAreRetriedReportedOrKilledAndTheOperatorDoesNotFlap()
    {
        // Not shorter: with 5 s an agent demotes itself after one renewal slower than 1.7 s (d/3), which the loaded
        // machine can produce — a correct self-fencing, but not what this test is about.
        const int leaseSeconds = 10;
        // exit 1: retried (attempts 1 and 2 fail, 3 succeeds).
        pods.SetHookMode("on-promote", "exit1");
        var (active, term) = await StartSidecarGroupAsync("db", leaseSeconds);
        var line = await PromoteLineAsync(active, term);
        Assert.Equal("attempt=3", line.Text.Split(' ').Last());
        await Wait.UntilAsync(async () => (await PodEventsAsync(active, "HookFailed")).Count(e => e.Message.Contains("will retry")) >= 2
                && (await PodEventsAsync(active, "HookSucceeded")).Any(e => e.Message.Contains("attempt 3/3")),
            Wait.Default, $"HookFailed (will retry) twice and HookSucceeded on {active}");

        // A hanging hook: killed at its timeout (2 s), then retried.
        pods.SetHookMode("on-promote", "hang1");
        var first = active;
        (active, term) = await FailOverAsync("db", active, term, "readiness failure, promote hook hangs once", () => ExecAsync(first, "rm", ProbedWorkload.ReadyFile));
        line = await PromoteLineAsync(active, term);
        Assert.Equal("attempt=2", line.Text.Split(' ').Last());
        await Wait.UntilAsync(async () => (await PodEventsAsync(active, "HookTimedOut")).Any(e => e.Message.Contains($"term {term}, attempt 1/3; will retry")),
            Wait.Default, $"HookTimedOut on {active}");
        await ExecAsync(first, "touch", ProbedWorkload.ReadyFile);

        // exit 2: given up at once and reported; the operator does not fail over because of it.
        pods.SetHookMode("on-promote", "exit2");
        var second = active;
        await ExecAsync(second, "rm", ProbedWorkload.ReadyFile);
        active = await WaitForActiveAsync("db", "db", a => a != second, TimeSpan.FromSeconds(60));
        term = await TermAsync("db");
        await Wait.UntilAsync(async () => (await PodEventsAsync(active, "HookFailed")).Any(e => e.Message.Contains($"exit code 2, term {term}, attempt 1/3; giving up")),
            Wait.Default, $"HookFailed (giving up) on {active}");
        Assert.Single(pods.Attempts(), a => a.Contains($"on-promote attempt=1 term={term} pod={active}"));
        Assert.DoesNotContain(pods.Attempts(), a => a.Contains($"on-promote attempt=2 term={term} pod={active}"));
        await ExecAsync(second, "touch", ProbedWorkload.ReadyFile);
        // No flapping: for 15 s (about four renewals) the holder and the term stay, the group stays Healthy.
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(15))
        {
            var lease = (await GetLeaseAsync("db"))!;
            Assert.Equal((active, term), (lease.Spec.HolderIdentity, (long)(lease.Spec.LeaseTransitions ?? 0)));
            await Task.Delay(500);
        }
        Assert.Equal(GroupPhase.Healthy, (await GetGroupAsync("db")).Status!.Phase);

        // A demote hook that gives up: no acknowledgement; the operator waits (FencingOldActive) for the expiry.
        pods.SetHookMode("on-promote", null);
        pods.SetHookMode("on-demote", "exit2");
        var third = active;
        var thirdTerm = term;
        await ExecAsync(third, "rm", ProbedWorkload.ReadyFile);
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Phase == GroupPhase.FencingOldActive, Wait.Default, "phase FencingOldActive");
        await Wait.UntilAsync(async () => (await PodEventsAsync(third, "DemoteFailed")).Any(e => e.Message.Contains($"term {thirdTerm}")),
            Wait.Default, $"DemoteFailed on {third}");
        pods.SetHookMode("on-demote", null);
        active = await WaitForActiveAsync("db", "db", a => a != third, TimeSpan.FromSeconds(60));
        await WaitForFencedEventAsync(third, thirdTerm, "its lease expired");
        Assert.False((await Client.CoreV1.ReadNamespacedPodAsync(third, Ns)).Metadata.Annotations?.TryGetValue(Roles.DemotedTermAnnotation, out var acked) == true
            && acked == thirdTerm.ToString(CultureInfo.InvariantCulture), $"{third} acknowledged term {thirdTerm} although its demote hook gave up");
    }

    /// <summary>make demo's fenced scene (real mode): the hooks' lines with their terms, demote before promote.</summary>
    [Fact]
    public async Task TheDemoShowsTheFencedSceneWithItsHooksAndTerms()
    {
        await StartOperatorAsync();
        var (run, _) = await RunDemoAsync("real node", "--mode=real", $"--app-image={node.AppImage}",
            $"--agent-image={node.NodeEnv["AGENT_IMAGE"]}", $"--node-ip={node.NodeEnv["NODE_IP"]}");
        var demote = System.Text.RegularExpressions.Regex.Match(run.Stdout, @"(\d+\.\d) ms  demote hook +hook> (\S+): standby term=(\d+) reason=NotReady");
        var promote = System.Text.RegularExpressions.Regex.Match(run.Stdout, @"(\d+\.\d) ms  promote hook +hook> (\S+): active term=(\d+) reason=NotReady");
        Assert.True(demote.Success && promote.Success, $"no demote and promote hook lines in the demo's output:\n{run.Stdout}");
        Assert.Equal(long.Parse(demote.Groups[3].Value) + 1, long.Parse(promote.Groups[3].Value));
        Assert.NotEqual(demote.Groups[2].Value, promote.Groups[2].Value);
        Assert.True(double.Parse(demote.Groups[1].Value, CultureInfo.InvariantCulture) <= double.Parse(promote.Groups[1].Value, CultureInfo.InvariantCulture));
        Assert.Contains("its agent acknowledged giving up term", run.Stdout);
        Assert.DoesNotContain((await Client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: "app=fenced")).Items, p => p.Metadata.DeletionTimestamp is null);
    }

    /// <summary>
    /// A deleted active's agent hands the Lease back on SIGTERM (holder empty, failover.dev/fencing
    /// {from, term, since, reason: Stopped}: no detectedAt) while the operator is still waiting out
    /// spec.failoverDelaySeconds. The operator used to write the new holder and labels and then fail
    /// every reconcile on the missing detectedAt, leaving the status FailingOver for good.
    /// </summary>
    [Fact]
    public async Task AGracefulStopDuringTheFailoverDelayCompletesTheFailover()
    {
        var (active, term) = await StartGroupAsync("worker", pods.WrapperDeployment("worker", "worker-agent"), leaseSeconds: 4, failoverDelaySeconds: 3);
        await Client.CoreV1.DeleteNamespacedPodAsync(active, Ns);
        var next = await WaitForActiveAsync("worker", "worker", a => a != active, TimeSpan.FromSeconds(60));
        var status = (await GetGroupAsync("worker")).Status!;
        Assert.Equal((active, next, term + 1), (status.LastFailover!.From, status.LastFailover.To, (long)status.LastFailover.Term!));
    }
}
