using System.Diagnostics;
using FailoverOperator.IntegrationTests.Infrastructure;
using k8s;
using k8s.Models;

namespace FailoverOperator.IntegrationTests.RealNode;

/// <summary>
/// The two nodes of hack/node.sh (NODES=2) as a user sees them: `kubectl exec` and `kubectl logs` reach
/// pods on either node (the API server dials each kubelet at its InternalIP, the bridge address), and a
/// pod's logs survive the other kubelet's container garbage collection (each kubelet has a
/// /var/log/pods of its own in its mount namespace; shared, each would delete the other's pods' logs).
/// </summary>
[Collection(RealNodeCollection.Name)]
public class TwoNodeTests(RealNodeCluster node, ITestOutputHelper output) : ClusterTest(node, output)
{
    /// <summary>The kubelet's container garbage collection period (ContainerGCPeriod, hard-coded in v1.20).</summary>
    private static readonly TimeSpan ContainerGcPeriod = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task ExecAndLogsReachPodsOnEveryNodeAndLogsSurviveTheOtherKubeletsGarbageCollection()
    {
        Assert.Equal(RealNodeCluster.NodeCount, node.Nodes.Count);
        foreach (var n in node.Nodes)
        {
            await Client.CoreV1.CreateNamespacedPodAsync(new V1Pod
            {
                Metadata = new V1ObjectMeta { Name = $"on-{n.Name}" },
                Spec = new V1PodSpec
                {
                    NodeSelector = new Dictionary<string, string> { ["kubernetes.io/hostname"] = n.Name },
                    AutomountServiceAccountToken = false,
                    TerminationGracePeriodSeconds = 1,
                    Containers = [new V1Container
                    {
                        Name = "app", Image = node.AppImage, ImagePullPolicy = "Never",
                        Command = ["sh", "-c", "echo hello from $(hostname); trap 'exit 0' TERM; while true; do sleep 1; done"],
                    }],
                },
            }, Ns);
        }
        var started = Stopwatch.StartNew();
        await Wait.UntilAsync(async () => (await Client.CoreV1.ListNamespacedPodAsync(Ns)).Items.All(p => p.Status?.Phase == "Running"),
            TimeSpan.FromMinutes(1), "a Running pod on each node");

        async Task CheckAsync()
        {
            foreach (var n in node.Nodes)
            {
                var pod = $"on-{n.Name}";
                var placed = (await Client.CoreV1.ReadNamespacedPodAsync(pod, Ns)).Spec.NodeName;
                Assert.Equal(n.Name, placed);
                var exec = await ProbedWorkload.ExecAsync(Plane.KubeconfigPath, Ns, pod, ["hostname"], TimeSpan.FromSeconds(20));
                Assert.True(exec.ExitCode == 0 && exec.Output.Trim() == pod, $"kubectl exec into {pod} on {n.Name}: ({exec.ExitCode}) {exec.Output}");
                var logs = await ProbedWorkload.RunKubectlAsync(["logs", "-n", Ns, pod, "--kubeconfig", Plane.KubeconfigPath], TimeSpan.FromSeconds(20));
                Assert.True(logs.ExitCode == 0 && logs.Output.Contains($"hello from {pod}"), $"kubectl logs {pod} on {n.Name}: ({logs.ExitCode}) {logs.Output}");
            }
        }
        await CheckAsync();

        // Each kubelet's container GC, once a minute, deletes the pod log directories of pods it does not
        // know: once both have run with these pods' logs in place, the logs must still be there.
        await Wait.UntilAsync(() => Task.FromResult(started.Elapsed > ContainerGcPeriod + TimeSpan.FromSeconds(5)),
            ContainerGcPeriod + TimeSpan.FromSeconds(10), "both kubelets' container garbage collection to have run");
        await CheckAsync();
    }
}
