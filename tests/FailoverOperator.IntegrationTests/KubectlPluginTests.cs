using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;
using k8s;
using k8s.Models;

namespace FailoverOperator.IntegrationTests;

/// <summary>
/// `kubectl hag` end to end: the plugin as its own process (through kubectl's plugin mechanism where
/// it says so), on the real API server, against the operator; its output and its exit codes.
/// </summary>
[Collection(ControlPlaneCollection.Name)]
public partial class KubectlPluginTests(ControlPlane plane, ITestOutputHelper output) : ClusterTest(plane, output)
{
    /// <summary>db-0..2, db-1 preferred (priority 5), db-2 never promoted; returns the active.</summary>
    private async Task<string> StartGroupAsync(bool withOperator = true)
    {
        await CreatePodsAsync("db", 3);
        await AnnotatePodAsync("db-1", Roles.PriorityAnnotation, "5");
        await AnnotatePodAsync("db-2", Roles.PromotableAnnotation, "false");
        if (withOperator) await StartOperatorAsync();
        await CreateGroupAsync("db", "db");
        return withOperator ? await WaitForActiveAsync("db", "db") : "";
    }

    private Task AnnotatePodAsync(string pod, string key, string value) =>
        Client.CoreV1.PatchNamespacedPodAsync(new V1Patch(new { metadata = new { annotations = new Dictionary<string, string> { [key] = value } } },
            V1Patch.PatchType.MergePatch), pod, Ns);

    /// <summary>kubectl hag ARGS --kubeconfig=... -n NS (through kubectl, or kubectl-hag directly), shown in the test output.</summary>
    private async Task<ProcessRunner.Result> HagAsync(bool throughKubectl, params string[] args)
    {
        string[] full = [.. args, $"--kubeconfig={Plane.KubeconfigPath}", "-n", Ns];
        var run = throughKubectl ? await KubectlPlugin.ThroughKubectlAsync(full) : await KubectlPlugin.DirectlyAsync(full);
        Output.WriteLine($"$ {(throughKubectl ? "kubectl hag" : "kubectl-hag")} {string.Join(' ', full)}\n{run.Output}(exit {run.ExitCode})");
        return run;
    }

    private static void AssertExit(int expected, ProcessRunner.Result run) =>
        Assert.True(run.ExitCode == expected, $"expected exit {expected}, got {run.ExitCode}:\n{run.Output}");

    [Fact]
    public async Task StatusShowsTheGroupItsMembersAndTheLease()
    {
        var active = await StartGroupAsync();
        var standby = active == "db-0" ? "db-1" : "db-0";
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Phase == GroupPhase.Healthy, Wait.Default, "the group Healthy");

        var run = await HagAsync(throughKubectl: true, "status", "db");

        AssertExit(0, run);
        Assert.Matches($@"(?m)^Group:\s+{Ns}/db$", run.Stdout);
        Assert.Matches(@"(?m)^Phase:\s+Healthy$", run.Stdout);
        Assert.Matches($@"(?m)^Active:\s+{active}$", run.Stdout);
        Assert.Matches(@"(?m)^Paused:\s+false$", run.Stdout);
        Assert.Matches(@"(?m)^Fencing:\s+Label$", run.Stdout);
        Assert.Matches($@"(?m)^Lease:\s+holder {active}, term 0 \(leaseTransitions\)$", run.Stdout);
        Assert.Matches(@"(?m)^Ready standbys:\s+1$", run.Stdout);
        Assert.Matches(@"(?m)^Last switchover:\s+none$", run.Stdout);
        Assert.Matches(@"(?m)^\s+Available\s+True\s", run.Stdout);
        Assert.Matches(@"(?m)^\s+NAME\s+ROLE\s+READY\s+PHASE\s+NODE\s+PRIORITY\s+PROMOTABLE$", run.Stdout);
        Assert.Matches($@"(?m)^\s+{active}\s+active\s+True\s+Running\s+{KubeletStandIn.NodeName}\s+\d+\s+true$", run.Stdout);
        Assert.Matches($@"(?m)^\s+{standby}\s+standby\s+True\s+Running\s+{KubeletStandIn.NodeName}\s+\d+\s+true$", run.Stdout);
        Assert.Matches($@"(?m)^\s+db-1\s+\w+\s+True\s+Running\s+\S+\s+5\s+true$", run.Stdout);
        Assert.Matches($@"(?m)^\s+db-2\s+standby\s+True\s+Running\s+\S+\s+0\s+false$", run.Stdout);
    }

    [Fact]
    public async Task StatusShowsEveryActiveOfAGroupWithSeveralActives()
    {
        Recorder.AllowActives("db", 2);
        await CreatePodsAsync("db", 3);
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db", s => s.ActiveCount = 2);
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status is { Phase: GroupPhase.Healthy, ActivePods.Count: 2 }, Wait.Default, "two actives, Healthy");

        var run = await HagAsync(throughKubectl: false, "status", "db");

        AssertExit(0, run);
        Assert.Matches(@"(?m)^Active:\s+db-0, db-1 \(2 of activeCount 2\)$", run.Stdout);
        Assert.Matches(@"(?m)^Lease:\s+holder db-0, term 0 \(leaseTransitions\), actives db-0,db-1$", run.Stdout);
        Assert.Matches($@"(?m)^\s+db-0\s+active\s+True\s", run.Stdout);
        Assert.Matches($@"(?m)^\s+db-1\s+active\s+True\s", run.Stdout);
        Assert.Matches($@"(?m)^\s+db-2\s+standby\s+True\s", run.Stdout);
    }

    [Fact]
    public async Task ASwitchoverMovesTheActiveAndExitsZero()
    {
        var first = await StartGroupAsync();
        var target = first == "db-0" ? "db-1" : "db-0";

        var run = await HagAsync(throughKubectl: true, "switchover", "db", target);

        AssertExit(0, run);
        Assert.Contains($"switched over: {first} -> {target}", run.Stdout);
        Assert.Equal(target, await WaitForActiveAsync("db", "db", a => a == target));
        var answer = (await GetGroupAsync("db")).Status!.LastSwitchover!;
        Assert.Equal((first, target, SwitchoverResults.Succeeded), (answer.From, answer.To, answer.Result));
        var status = await HagAsync(throughKubectl: false, "status", "db");
        Assert.Matches($@"(?m)^Last switchover:\s+Succeeded {first} -> {target} at .*term 1\): switched over from {first} to {target}$", status.Stdout);
        Assert.Matches($@"(?m)^Lease:\s+holder {target}, term 1 ", status.Stdout);
    }

    [Fact]
    public async Task ARefusedSwitchoverExitsThreeWithTheReasonAndMovesNothing()
    {
        var active = await StartGroupAsync();
        var lease = (await GetLeaseAsync("db"))!;

        var run = await HagAsync(throughKubectl: false, "switchover", "db", "db-2");

        AssertExit(3, run);
        Assert.Contains("refused by the operator: switchover to db-2 refused: pod db-2 is excluded from promotion (failover.dev/promotable=false)", run.Stderr);
        Assert.Equal(active, await WaitForActiveAsync("db", "db"));
        Assert.Equal(lease.Metadata.ResourceVersion, (await GetLeaseAsync("db"))!.Metadata.ResourceVersion);
        Assert.Null((await GetGroupAsync("db")).GetAnnotation(Roles.SwitchoverAnnotation));
    }

    [Fact]
    public async Task PauseAndResumeSetSpecPausedAndAPausedGroupRefusesASwitchover()
    {
        var active = await StartGroupAsync();
        var other = active == "db-0" ? "db-1" : "db-0";

        var pause = await HagAsync(throughKubectl: true, "pause", "db");
        AssertExit(0, pause);
        Assert.Contains($"highavailabilitygroup {Ns}/db paused", pause.Stdout);
        Assert.True((await GetGroupAsync("db")).Spec.Paused);
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Phase == GroupPhase.Paused, Wait.Default, "the group Paused");

        var refused = await HagAsync(throughKubectl: false, "switchover", "db", other);
        AssertExit(3, refused);
        Assert.Contains("the group is paused (spec.paused): resume it first", refused.Stderr);

        var resume = await HagAsync(throughKubectl: true, "resume", "db");
        AssertExit(0, resume);
        Assert.Contains($"highavailabilitygroup {Ns}/db resumed", resume.Stdout);
        Assert.False((await GetGroupAsync("db")).Spec.Paused);
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Phase == GroupPhase.Healthy, Wait.Default, "the group Healthy again");
        Assert.Equal(active, await WaitForActiveAsync("db", "db"));
    }
}
