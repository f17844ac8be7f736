using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;
using FailoverOperator.Runtime;
using k8s;
using k8s.Models;

namespace FailoverOperator.IntegrationTests;

/// <summary>`kubectl hag` when things are not as asked: no such group, no answer, a switchover that failed, the namespace chosen by the context.</summary>
public partial class KubectlPluginTests
{
    [Fact]
    public async Task AnUnknownGroupExitsOneAndNothingIsWritten()
    {
        string[][] commands = [["status", "nope"], ["switchover", "nope", "db-0"], ["pause", "nope"]];
        foreach (var args in commands)
        {
            var run = await HagAsync(throughKubectl: args[0] == "status", args);
            AssertExit(1, run);
            Assert.Contains($"error: highavailabilitygroup \"nope\" not found in namespace \"{Ns}\"", run.Stderr);
        }
        var groups = await Client.CustomObjects.ListNamespacedCustomObjectAsync<CustomResourceList<HighAvailabilityGroup>>(
            HighAvailabilityGroup.Group, HighAvailabilityGroup.Version, Ns, HighAvailabilityGroup.Plural);
        Assert.Empty(groups.Items);
    }

    [Fact]
    public async Task WithoutAnAnswerTheSwitchoverExitsFiveAndTheNextRequestIsRefusedLocally()
    {
        await StartGroupAsync(withOperator: false);

        var run = await HagAsync(throughKubectl: false, "switchover", "db", "db-0", "--timeout=1s");
        AssertExit(5, run);
        Assert.Contains("no answer from the operator within 1 s", run.Stderr);
        Assert.Equal("db-0", (await GetGroupAsync("db")).GetAnnotation(Roles.SwitchoverAnnotation));

        var again = await HagAsync(throughKubectl: false, "switchover", "db", "db-1");
        AssertExit(1, again);
        Assert.Contains("a switchover to db-0 is already pending", again.Stderr);
        Assert.Equal("db-0", (await GetGroupAsync("db")).GetAnnotation(Roles.SwitchoverAnnotation));
    }

    [Fact]
    public async Task TheContextsNamespaceIsTheDefaultAndDashNOverridesIt()
    {
        await CreateGroupAsync("db", "db");
        // Beside the original, so its relative certificate paths still hold.
        var kubeconfig = Path.Combine(Path.GetDirectoryName(Plane.KubeconfigPath)!, $"{Ns}.kubeconfig");
        File.Copy(Plane.KubeconfigPath, kubeconfig);
        try
        {
            await ProcessRunner.RunCheckedAsync("kubectl", ["config", "set-context", "--current", $"--namespace={Ns}", $"--kubeconfig={kubeconfig}"], KubectlPlugin.Deadline);

            var inContextNamespace = await KubectlPlugin.ThroughKubectlAsync("status", "db", $"--kubeconfig={kubeconfig}");
            Output.WriteLine(inContextNamespace.Output);
            AssertExit(0, inContextNamespace);
            Assert.Matches($@"(?m)^Group:\s+{Ns}/db$", inContextNamespace.Stdout);

            var elsewhere = await KubectlPlugin.ThroughKubectlAsync("-n", "default", "status", "db", $"--kubeconfig={kubeconfig}");
            AssertExit(1, elsewhere);
            Assert.Contains("error: highavailabilitygroup \"db\" not found in namespace \"default\"", elsewhere.Stderr);
        }
        finally
        {
            File.Delete(kubeconfig);
        }
    }

    [Fact]
    public async Task ASwitchoverToAnyPromotesTheBestCandidate()
    {
        var first = await StartGroupAsync();
        var best = first == "db-0" ? "db-1" : "db-0";   // db-2 is excluded

        var run = await HagAsync(throughKubectl: false, "switchover", "db");

        AssertExit(0, run);
        Assert.Contains($"switchover of {Ns}/db to any requested (active: {first})", run.Stdout);
        Assert.Contains($"switched over: {first} -> {best}", run.Stdout);
        Assert.Equal(best, await WaitForActiveAsync("db", "db", a => a == best));
    }

    [Fact]
    public async Task ASwitchoverWhoseTargetFailsMeanwhileExitsFour()
    {
        await CreatePodsAsync("db", 3);
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db", s => { s.Fencing = FencingModes.Agent; s.LeaseDurationSeconds = 300; });
        var first = await WaitForActiveAsync("db", "db");
        string[] others = [.. new[] { "db-0", "db-1", "db-2" }.Where(p => p != first)];

        var run = HagAsync(throughKubectl: false, "switchover", "db", others[0]);
        // Agent mode: the old active must acknowledge before anyone is promoted; meanwhile the target fails.
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Phase == GroupPhase.FencingOldActive, Wait.Default, "the old active being fenced");
        await Kubelet.SetReadyAsync(others[0], false);
        await Client.CoreV1.PatchNamespacedPodAsync(new V1Patch(new { metadata = new { annotations = new Dictionary<string, string> { [Roles.DemotedTermAnnotation] = "0" } } },
            V1Patch.PatchType.MergePatch), first, Ns);

        AssertExit(4, await run);
        Assert.Contains($"{others[0]} was no longer a candidate once {first} stopped; {others[1]} was promoted instead", (await run).Stderr);
        Assert.Equal(others[1], await WaitForActiveAsync("db", "db", a => a == others[1]));
    }
}
