using System.Diagnostics;
using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;
using FailoverOperator.Testing;
using k8s;
using k8s.Models;

namespace FailoverOperator.IntegrationTests.RealNode;

/// <summary>
/// The whole path on a real kubelet: a probe fails inside the container, the kubelet reports it,
/// the operator fails over, the endpoint controller moves the Service.
/// </summary>
[Collection(RealNodeCollection.Name)]
public class RealNodeTests(RealNodeCluster node, ITestOutputHelper output) : ClusterTest(node, output)
{
    private const string App = "db";

    /// <summary>3 busybox pods with exec probes every second, and a Service selecting the active role.</summary>
    private async Task CreateWorkloadAsync()
    {
        await Client.AppsV1.CreateNamespacedDeploymentAsync(ProbedWorkload.Deployment(App, node.AppImage, node.IsOwned ? "Never" : "IfNotPresent"), Ns);
        await Client.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = $"{App}-active" },
            Spec = new V1ServiceSpec
            {
                Selector = new Dictionary<string, string> { ["app"] = App, [HighAvailabilityGroupSpec.DefaultRoleLabelKey] = Roles.Active },
                Ports = [new V1ServicePort { Port = 80, TargetPort = 8080 }],
            },
        }, Ns);
        await Wait.UntilAsync(async () => (await ReadyPodsAsync()).Count == 3, TimeSpan.FromMinutes(2), "3 Ready pods on the node");
    }

    private async Task<List<V1Pod>> ReadyPodsAsync() =>
        (await Client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: $"app={App}")).Items
            .Where(p => p.Metadata.DeletionTimestamp is null && IsReady(p)).ToList();

    private static bool IsReady(V1Pod pod) => pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    private async Task<V1Pod> PodAsync(string name) => await Client.CoreV1.ReadNamespacedPodAsync(name, Ns);

    private async Task<string[]> EndpointIpsAsync()
    {
        var endpoints = await Client.CoreV1.ReadNamespacedEndpointsAsync($"{App}-active", Ns);
        return (endpoints.Subsets ?? []).SelectMany(s => s.Addresses ?? []).Select(a => a.Ip).ToArray();
    }

    private async Task WaitForEndpointsAsync(string pod)
    {
        var ip = (await PodAsync(pod)).Status.PodIP;
        await Wait.UntilAsync(async () => (await EndpointIpsAsync()).SequenceEqual([ip]), Wait.Default,
            $"the Service's Endpoints to list only {pod} ({ip})", async () => string.Join(",", await EndpointIpsAsync()));
    }

    /// <summary>kubectl exec, retried while the kubelet reports the container as (re)starting.</summary>
    private async Task ExecAsync(string pod, params string[] command)
    {
        var result = await ProbedWorkload.ExecAsync(Plane.KubeconfigPath, Ns, pod, command, TimeSpan.FromSeconds(20));
        if (result.ExitCode != 0)
        {
            Assert.Fail($"kubectl exec {pod} -- {string.Join(' ', command)} failed ({result.ExitCode}): {result.Output}");
        }
    }

    private async Task<string> StartAsync(int failoverDelaySeconds = 0)
    {
        await CreateWorkloadAsync();
        await StartOperatorAsync();
        await CreateGroupAsync(App, App, s => s.FailoverDelaySeconds = failoverDelaySeconds);
        var active = await WaitForActiveAsync(App, App);
        await WaitForEndpointsAsync(active);
        Output.WriteLine($"node started in {node.StartTime.TotalSeconds:0.0} s (this fixture); first active {active}");
        return active;
    }

    [Fact]
    public async Task ALivenessFailureInsideTheActiveFailsOverAndTheOldPodReturnsAsStandby()
    {
        var first = await StartAsync();
        var restartsBefore = (await PodAsync(first)).Status.ContainerStatuses.Single().RestartCount;

        var clock = Stopwatch.StartNew();
        await ExecAsync(first, "rm", ProbedWorkload.AliveFile);
        var probeBroken = clock.Elapsed;
        await Wait.UntilAsync(async () => !IsReady(await PodAsync(first)), Wait.Default, $"the kubelet to report {first} not Ready");
        var notReady = clock.Elapsed;
        var second = await WaitForActiveAsync(App, App, a => a != first);
        var promoted = clock.Elapsed;
        await WaitForEndpointsAsync(second);
        var switched = clock.Elapsed;

        Output.WriteLine($"timeline from `rm /tmp/alive` in {first}: exec returned +{probeBroken.TotalMilliseconds:0} ms, " +
            $"Ready=False seen +{notReady.TotalMilliseconds:0} ms, {second} active +{promoted.TotalMilliseconds:0} ms, " +
            $"Endpoints switched +{switched.TotalMilliseconds:0} ms");

        // The kubelet restarts the container; it comes back Ready and stays a standby (no fail-back).
        await Wait.UntilAsync(async () =>
        {
            var pod = await PodAsync(first);
            return pod.Status.ContainerStatuses.Single().RestartCount > restartsBefore && IsReady(pod);
        }, TimeSpan.FromSeconds(60), $"{first} to be restarted by the kubelet and Ready again");
        await Wait.UntilAsync(async () => (await GetGroupAsync(App)).Status?.ReadyStandbys == 2, Wait.Default, "2 Ready standbys again");
        Assert.Equal(Roles.Standby, (await RolesAsync(App))[first]);
        Assert.Equal(second, await WaitForActiveAsync(App, App));
        var status = (await GetGroupAsync(App)).Status!;
        Assert.Equal((1, first, second, FailoverReasons.NotReady),
            (status.FailoverCount, status.LastFailover!.From, status.LastFailover.To, status.LastFailover.Reason));
        await WaitForEndpointsAsync(second);
    }

    [Fact]
    public async Task AReadinessBlipShorterThanTheFailoverDelayChangesNothing()
    {
        const int delaySeconds = 5;
        var first = await StartAsync(failoverDelaySeconds: delaySeconds);
        var lease = (await GetLeaseAsync(App))!;

        await ExecAsync(first, "rm", ProbedWorkload.ReadyFile);
        await Wait.UntilAsync(async () => !IsReady(await PodAsync(first)), Wait.Default, $"the kubelet to report {first} not Ready");
        var blipStart = Stopwatch.StartNew();
        await Wait.UntilAsync(async () => (await GetGroupAsync(App)).Status?.Phase == GroupPhase.FailingOver, Wait.Default, "the operator to see the failure (FailingOver)");
        await ExecAsync(first, "touch", ProbedWorkload.ReadyFile);
        await Wait.UntilAsync(async () => IsReady(await PodAsync(first)), Wait.Default, $"{first} Ready again");
        var blip = blipStart.Elapsed;
        Output.WriteLine($"readiness blip lasted about {blip.TotalMilliseconds:0} ms (delay {delaySeconds} s)");
        Assert.True(blip < TimeSpan.FromSeconds(delaySeconds), $"the blip took {blip}, longer than the delay: the scenario did not happen");

        // Watch past the moment the delay would have ended: nothing moves.
        await Task.Delay(TimeSpan.FromSeconds(delaySeconds + 1) - blip);
        Assert.Equal(GroupPhase.Healthy, (await GetGroupAsync(App)).Status!.Phase);
        var after = (await GetLeaseAsync(App))!;
        Assert.Equal((first, lease.Spec.LeaseTransitions), (after.Spec.HolderIdentity, after.Spec.LeaseTransitions));
        Assert.Equal(0, (await GetGroupAsync(App)).Status!.FailoverCount);
        await WaitForEndpointsAsync(first);
    }

    [Fact]
    public async Task TheDemoRunsItsRealModeOnTheNode()
    {
        await StartOperatorAsync();

        var (run, status) = await RunDemoAsync("real node", "--mode=real", $"--app-image={node.AppImage}");

        Assert.Contains("old active is back", run.Stdout);
        var old = await PodAsync(status.LastFailover!.From!);
        Assert.Equal(1, old.Status.ContainerStatuses.Single().RestartCount);
        Assert.Equal(Roles.Standby, (await RolesAsync("demo"))[old.Metadata.Name]);
    }
}
