using System.Text.RegularExpressions;
using FailoverOperator.IntegrationTests.Infrastructure;
using FailoverOperator.Testing;
using k8s;
using k8s.Models;

namespace FailoverOperator.IntegrationTests.Agent;

/// <summary>The agent's Role as docs/fencing.md documents it is enough, and not more than it uses.</summary>
[Collection(ControlPlaneCollection.Name)]
public class AgentRbacTests(ControlPlane plane, ITestOutputHelper output) : AgentTest(plane, output)
{
    private const string ServiceAccount = "db-failover-agent";

    [Fact]
    public async Task TheDocumentedRoleLetsTheAgentFollowRenewAcknowledgeReportAndRelease()
    {
        await ApplyDocumentedRoleAsync();
        await CreatePodsAsync("db", 1);
        await CreateLeaseAsync("db-0", term: 2);
        var agent = StartAgent("sidecar", "db-0", Hooks(), await ServiceAccountKubeconfigAsync(ServiceAccount));

        await WaitHookAsync("active 2 Assigned false db-0");
        await Wait.UntilAsync(async () => (await EventsAsync("HookSucceeded")).Any(e => e.InvolvedObject.Name == "db-0"), Wait.Default,
            "the agent's HookSucceeded Event", () => Task.FromResult(agent.Log));
        var renewTime = (await GetLeaseAsync(Group))!.Spec.RenewTime;
        await Wait.UntilAsync(async () => (await GetLeaseAsync(Group))!.Spec.RenewTime != renewTime, Wait.Default, "a renewal");
        Assert.Equal(0, await agent.StopGracefullyAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal("2", await DemotedTermAsync("db-0"));
        Assert.True(string.IsNullOrEmpty((await GetLeaseAsync(Group))!.Spec.HolderIdentity));
        Assert.DoesNotContain("forbidden", agent.Log, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task TheDocumentedRoleLetsTheAgentHandTheLeaseOver()
    {
        await ApplyDocumentedRoleAsync();
        await CreatePodsAsync("db", 1);
        await CreateLeaseAsync("db-0", term: 2);
        var agent = StartAgent("sidecar", "db-0", Hooks(), await ServiceAccountKubeconfigAsync(ServiceAccount));
        await WaitHookAsync("active 2 Assigned false db-0");

        // The operator's write 1: db-0 (this very pod) fenced in term 2, db-1 chosen.
        var uid = (await Client.CoreV1.ReadNamespacedPodAsync("db-0", Ns)).Metadata.Uid;
        await UpdateLeaseAsync(lease =>
        {
            lease.Spec.HolderIdentity = "";
            lease.Metadata.Annotations = new Dictionary<string, string>
            {
                ["failover.dev/fencing"] = System.Text.Json.JsonSerializer.Serialize(new { from = "db-0", uid, term = 2, to = "db-1", reason = "NotReady" }),
            };
        });

        await Wait.UntilAsync(async () => (await GetLeaseAsync(Group))!.Spec is { HolderIdentity: "db-1", LeaseTransitions: 3 }, Wait.Default,
            "the Lease handed over to db-1 in term 3", () => Task.FromResult(agent.Log));
        await Wait.UntilAsync(async () => await DemotedTermAsync("db-0") == "2", Wait.Default, "the acknowledgement after it");
        Assert.DoesNotContain("forbidden", agent.Log, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The Role and RoleBinding of docs/fencing.md, moved into this test's namespace, and their ServiceAccount.</summary>
    private async Task ApplyDocumentedRoleAsync()
    {
        var docs = await File.ReadAllTextAsync(RepoPaths.Of("docs", "fencing.md"));
        var yaml = Regex.Matches(docs, "```yaml\n(.*?)```", RegexOptions.Singleline).Select(m => m.Groups[1].Value)
            .Single(block => block.Contains("kind: Role\n") && block.Contains(ServiceAccount));
        var objects = KubernetesYaml.LoadAllFromString(yaml.Replace("namespace: shop", $"namespace: {Ns}"));
        await Client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = ServiceAccount } }, Ns);
        await Client.RbacAuthorizationV1.CreateNamespacedRoleAsync(objects.OfType<V1Role>().Single(), Ns);
        await Client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(objects.OfType<V1RoleBinding>().Single(), Ns);
    }
}
