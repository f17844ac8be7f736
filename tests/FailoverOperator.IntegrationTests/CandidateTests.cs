using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;
using FailoverOperator.Testing;
using k8s;
using k8s.Models;

namespace FailoverOperator.IntegrationTests;

/// <summary>Candidate priority and exclusion, set as pod annotations, on the real API server.</summary>
[Collection(ControlPlaneCollection.Name)]
public class CandidateTests(ControlPlane plane, ITestOutputHelper output) : ClusterTest(plane, output)
{
    [Fact]
    public async Task TheHighestPriorityIsPromotedAndAnExcludedPodNever()
    {
        await CreatePodsAsync("db", 3);
        await AnnotateAsync("db-1", Roles.PromotableAnnotation, "false");
        await AnnotateAsync("db-2", Roles.PriorityAnnotation, "5");
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db");
        // db-2 was Ready the shortest, but its priority comes first.
        Assert.Equal("db-2", await WaitForActiveAsync("db", "db"));

        // db-1 is excluded, so db-0 is next.
        await Kubelet.SetReadyAsync("db-2", false);
        Assert.Equal("db-0", await WaitForActiveAsync("db", "db", a => a != "db-2"));

        // Now only the excluded pod is Ready: no failover, and the status says why.
        await Kubelet.SetReadyAsync("db-0", false);
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Phase == GroupPhase.Degraded, Wait.Default, "phase Degraded");
        var degraded = (await GetGroupAsync("db")).Status!.Conditions!.Single(c => c.Type == ConditionTypes.Degraded);
        Assert.Contains("no standby is Ready (Ready but excluded with failover.dev/promotable=false: db-1)", degraded.Message);
        Assert.Equal(Roles.Standby, (await RolesAsync("db"))["db-1"]);
    }

    private Task AnnotateAsync(string pod, string key, string value) =>
        Client.CoreV1.PatchNamespacedPodAsync(new V1Patch(new { metadata = new { annotations = new Dictionary<string, string> { [key] = value } } },
            V1Patch.PatchType.MergePatch), pod, Ns);
}
