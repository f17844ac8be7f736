using FailoverOperator.IntegrationTests.Infrastructure;
using k8s;
using k8s.Models;

namespace FailoverOperator.IntegrationTests.EndToEnd;

/// <summary>A Deployment of probed busybox pods on real nodes; the Deployment replaces a deleted pod.</summary>
public sealed class RealWorkload(IKubernetes client, string ns, string app, string image, string pullPolicy) : EndToEndWorkload
{
    public override string Mode => $"real pods, {image}";
    public override TimeSpan ReadyTimeout => TimeSpan.FromMinutes(3);

    public override Task CreateAsync(int members) =>
        client.AppsV1.CreateNamespacedDeploymentAsync(ProbedWorkload.Deployment(app, image, pullPolicy, members), ns);

    public override Task DeleteAsync(string pod) => client.CoreV1.DeleteNamespacedPodAsync(pod, ns);
}

/// <summary>
/// No node runs pods: the kubelet stand-in plays the kubelet and the ReplicaSet. A deleted pod goes at
/// once (no kubelet to finish a graceful deletion) and a Ready replacement is created.
/// </summary>
public sealed class SimulatedWorkload(IKubernetes client, KubeletStandIn kubelet, string ns, string app) : EndToEndWorkload
{
    private int created;

    public override string Mode => "simulated kubelet";
    public override TimeSpan ReadyTimeout => TimeSpan.FromSeconds(30);

    public override async Task CreateAsync(int members)
    {
        await Cluster.CreateMembersAsync(kubelet, app, members);
        created = members;
    }

    public override async Task DeleteAsync(string pod)
    {
        await client.CoreV1.DeleteNamespacedPodAsync(pod, ns, new V1DeleteOptions { GracePeriodSeconds = 0 });
        await kubelet.CreatePodAsync(Cluster.MemberName(app, created++), new Dictionary<string, string> { [Cluster.GroupLabel] = app });
    }
}

/// <summary>
/// On the cluster in KUBECONFIG when USE_EXISTING_CLUSTER=true (kind in CI: `make kind-e2e`), otherwise on
/// the tests' own control plane with the operator they start. Real pods when a node is Ready, else the
/// simulated kubelet; E2E_SIMULATE_KUBELET=true|false overrides, E2E_IMAGE names the image (busybox:1.36).
/// </summary>
[Collection(ControlPlaneCollection.Name)]
[Trait("Category", "E2E")]
public class EndToEndTests(ControlPlane plane, ITestOutputHelper output) : FailoverEndToEnd(plane, output)
{
    protected override async Task<EndToEndWorkload> WorkloadAsync()
    {
        var simulate = Environment.GetEnvironmentVariable("E2E_SIMULATE_KUBELET") switch
        {
            "true" => true,
            "false" => false,
            _ => !await EndToEndWorkload.AnyNodeReadyAsync(Client),
        };
        var image = Environment.GetEnvironmentVariable("E2E_IMAGE") is { Length: > 0 } i ? i : "busybox:1.36";
        return simulate ? new SimulatedWorkload(Client, Kubelet, Ns, App) : new RealWorkload(Client, Ns, App, image, "IfNotPresent");
    }
}

/// <summary>The same end-to-end test on the real node (hack/node.sh): real pods, a real kubelet and scheduler.</summary>
[Collection(RealNode.RealNodeCollection.Name)]
public class EndToEndOnTheRealNodeTests(RealNode.RealNodeCluster node, ITestOutputHelper output) : FailoverEndToEnd(node, output)
{
    protected override Task<EndToEndWorkload> WorkloadAsync() =>
        Task.FromResult<EndToEndWorkload>(new RealWorkload(Client, Ns, App, node.AppImage, node.IsOwned ? "Never" : "IfNotPresent"));
}
