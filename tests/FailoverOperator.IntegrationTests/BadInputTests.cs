using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;
using FailoverOperator.Testing;
using k8s;
using k8s.Models;

namespace FailoverOperator.IntegrationTests;

/// <summary>Groups the CRD schema accepts but the operator must not act on: reported, and nothing of the user's touched.</summary>
[Collection(ControlPlaneCollection.Name)]
public class BadInputTests(ControlPlane plane, ITestOutputHelper output) : ClusterTest(plane, output)
{
    [Fact]
    public async Task ARoleLabelKeyTheSelectorUsesIsRefusedAndThePodsAreLeftByteForByte()
    {
        for (var i = 0; i < 2; i++) await Kubelet.CreatePodAsync($"db-{i}", new Dictionary<string, string> { ["tier"] = "x", ["app"] = "db" });
        var before = await PodsAsJsonAsync();
        var op = await StartOperatorAsync();
        await CreateGroupAsync("db", "db", s =>
        {
            s.Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { ["tier"] = "x" } };
            s.RoleLabelKey = "tier";
        });

        await Wait.UntilAsync(async () => (await GetGroupAsync("db")).Status?.Phase == GroupPhase.Invalid, Wait.Default, "phase Invalid");
        var invalid = (await GetGroupAsync("db")).Status!.Conditions!.Single(c => c.Type == ConditionTypes.InvalidSpec);
        Assert.Equal("True", invalid.Status);
        Assert.Contains("spec.roleLabelKey \"tier\" is also a key of spec.selector", invalid.Message);
        await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.InvalidSpec)).Count == 1, Wait.Default, "one InvalidSpec event");
        Assert.Equal(before, await PodsAsJsonAsync());
        Assert.Null(await GetLeaseAsync("db"));

        // Fixed, it is acted on.
        await PatchGroupSpecAsync("db", new { roleLabelKey = HighAvailabilityGroupSpec.DefaultRoleLabelKey });
        await WaitForActiveAsync("db", "db");
        Assert.DoesNotContain(ConditionTypes.InvalidSpec, (await GetGroupAsync("db")).Status!.Conditions!.Select(c => c.Type));
        Assert.False(op.HasExited);
    }

    [Fact]
    public async Task PodsAnotherGroupHoldsAreReportedNamingThatGroup()
    {
        await CreatePodsAsync("db", 2);
        await StartOperatorAsync();
        await CreateGroupAsync("first", "db");
        await WaitForActiveAsync("first", "db");
        await CreateGroupAsync("second", "db");
        await Wait.UntilAsync(async () => (await GetGroupAsync("second")).Status?.Conditions?.Any(c => c.Reason == "MembersClaimedByAnotherGroup") == true,
            Wait.Default, "the second group to say its pods belong to the first");
        var message = (await GetGroupAsync("second")).Status!.Conditions!.Single(c => c.Type == ConditionTypes.Available).Message;
        Assert.Contains("db-0 (group first), db-1 (group first)", message);
    }

    [Fact]
    public async Task AGroupNameLongerThanALabelValueStillGetsItsLease()
    {
        var name = "db-" + new string('x', 70);
        await CreatePodsAsync("db", 2);
        await StartOperatorAsync();
        await CreateGroupAsync(name, "db");
        await WaitForActiveAsync(name, "db");
        Assert.True((await GetLeaseAsync(name))!.Metadata.Labels.ContainsKey(Roles.LeaseGroupLabel));
    }

    /// <summary>Every pod's metadata and spec as the API server serves them (resourceVersion included: any write changes it).</summary>
    private async Task<string> PodsAsJsonAsync() =>
        string.Join("\n", (await Client.CoreV1.ListNamespacedPodAsync(Ns)).Items.OrderBy(p => p.Metadata.Name)
            .Select(p => KubernetesJson.Serialize(new { p.Metadata.Name, p.Metadata.Labels, p.Metadata.Annotations, p.Metadata.ResourceVersion })));
}
