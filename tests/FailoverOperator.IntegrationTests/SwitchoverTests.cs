using System.Diagnostics;
using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;
using FailoverOperator.Testing;
using k8s;
using k8s.Models;

namespace FailoverOperator.IntegrationTests;

/// <summary>`kubectl annotate hag NAME failover.dev/switchover-to=POD`, on the real API server.</summary>
[Collection(ControlPlaneCollection.Name)]
public class SwitchoverTests(ControlPlane plane, ITestOutputHelper output) : ClusterTest(plane, output)
{
    private async Task<string> StartGroupAsync(Action<HighAvailabilityGroupSpec>? configure = null)
    {
        await CreatePodsAsync("db", 3);
        await StartOperatorAsync();
        await CreateGroupAsync("db", "db", configure);
        return await WaitForActiveAsync("db", "db");
    }

    private Task RequestAsync(string target) =>
        Client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch(new { metadata = new { annotations = new Dictionary<string, string> { [Roles.SwitchoverAnnotation] = target } } }, V1Patch.PatchType.MergePatch),
            HighAvailabilityGroup.Group, HighAvailabilityGroup.Version, Ns, HighAvailabilityGroup.Plural, "db");

    private async Task<SwitchoverRecord> WaitForAnswerAsync(string target)
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

    [Fact]
    public async Task ASwitchoverMovesTheActiveAndSaysSo()
    {
        var first = await StartGroupAsync();
        var target = first == "db-2" ? "db-1" : "db-2";
        var requested = Stopwatch.GetTimestamp();
        await RequestAsync(target);
        Assert.Equal(target, await WaitForActiveAsync("db", "db", a => a == target));
        Output.WriteLine($"switchover request -> new active agreed on: {Stopwatch.GetElapsedTime(requested).TotalMilliseconds:0} ms");
        var answer = await WaitForAnswerAsync(target);
        Assert.Equal((first, SwitchoverResults.Succeeded, 1), (answer.From, answer.Result, answer.Term));
        var status = (await GetGroupAsync("db")).Status!;
        Assert.Equal(1, status.FailoverCount);
        Assert.Null(status.LastFailover);
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.SwitchedOver)).Count > 0, Wait.Default, "a SwitchedOver event");
    }

    [Fact]
    public async Task ARefusedSwitchoverChangesNothingAndSaysWhy()
    {
        var first = await StartGroupAsync();
        var lease = (await GetLeaseAsync("db"))!;
        await RequestAsync("no-such-pod");
        var answer = await WaitForAnswerAsync("no-such-pod");
        Assert.Equal(SwitchoverResults.Refused, answer.Result);
        Assert.Contains("pod \"no-such-pod\" is not a member of the group", answer.Message);
        Assert.Equal(first, await WaitForActiveAsync("db", "db"));
        Assert.Equal(lease.Metadata.ResourceVersion, (await GetLeaseAsync("db"))!.Metadata.ResourceVersion);
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.SwitchoverRefused)).Count > 0, Wait.Default, "a SwitchoverRefused event");
    }

    [Fact]
    public async Task InAgentModeTheOldActiveAcknowledgesBeforeTheTargetIsPromoted()
    {
        var first = await StartGroupAsync(s => { s.Fencing = FencingModes.Agent; s.LeaseDurationSeconds = 300; });
        var target = first == "db-2" ? "db-1" : "db-2";
        await RequestAsync(target);
        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Phase == GroupPhase.FencingOldActive, Wait.Default, "the old active being fenced");
        Assert.DoesNotContain(Roles.Active, (await RolesAsync("db")).Values);

        await Client.CoreV1.PatchNamespacedPodAsync(new V1Patch(new { metadata = new { annotations = new Dictionary<string, string> { [Roles.DemotedTermAnnotation] = "0" } } },
            V1Patch.PatchType.MergePatch), first, Ns);
        Assert.Equal(target, await WaitForActiveAsync("db", "db", a => a == target));
        Assert.Equal(SwitchoverResults.Succeeded, (await WaitForAnswerAsync(target)).Result);
    }
}
