using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;
using k8s;

namespace FailoverOperator.IntegrationTests.EndToEnd;

/// <summary>
/// The end-to-end failover, as a user sees it on a cluster with the operator installed: a workload of
/// three pods, a Service selecting the active role and a group; one active agreed on by the label, the
/// Lease and the status, the Endpoints listing only it; the active pod deleted; a different pod active
/// everywhere (failoverCount, lastFailover from/to), the Endpoints following, every other Ready pod
/// (the replacement too) standby. On a cluster the tests started, they start the operator themselves;
/// on any other (USE_EXISTING_CLUSTER=true, kind in CI) it must be installed already.
/// </summary>
public abstract class FailoverEndToEnd(ClusterFixture cluster, ITestOutputHelper output) : ClusterTest(cluster, output)
{
    protected const string App = "e2e";
    private const string Service = "e2e-active";
    private const int Members = 3;

    /// <summary>The pods, and how one is deleted and replaced.</summary>
    protected abstract Task<EndToEndWorkload> WorkloadAsync();

    [Fact]
    public async Task DeletingTheActivePodMovesTheRoleTheLeaseTheStatusAndTheEndpoints()
    {
        var workload = await WorkloadAsync();
        await using var timeline = await FailoverTimeline.StartAsync(Cluster.Watches, Ns, watchEndpoints: true);
        await Cluster.CreateActiveServiceAsync(Ns, Service, App);
        await workload.CreateAsync(Members);
        await timeline.WaitAsync(() => timeline.PodsOf(App) is { Count: Members } pods && pods.All(p => p.Ready), workload.ReadyTimeout,
            $"{Members} Ready pods ({workload.Mode})");
        if (Plane.IsOwned) await StartOperatorAsync();
        await Cluster.CreateGroupAsync(Ns, App, configure: s => s.FailoverDelaySeconds = 0);

        await timeline.WaitAsync(() => timeline.IsSteady(App, Members, Service), TimeSpan.FromSeconds(60),
            "exactly one active pod, the Lease held by it, status naming it with 2 ready standbys, the Endpoints listing only its IP " +
            "(is the operator running and watching this namespace?)");
        var old = timeline.ActiveOf(App)!;
        var failoversBefore = timeline.Group(App)!.FailoverCount;

        var failover = await timeline.FailAsync(App, old, Service, () => workload.DeleteAsync(old));
        var result = await failover.WaitAsync(TimeSpan.FromSeconds(60));
        Output.WriteLine(Timeline(result, workload.Mode));

        Assert.NotEqual(old, result.To);
        Assert.Equal(result.To, result.LeaseHolder);
        await Wait.UntilAsync(async () => (await GetGroupAsync(App)).Status is { } s && s.ActivePod == result.To && s.FailoverCount > failoversBefore,
            Wait.Default, $"status to name {result.To} and count the failover", async () => KubernetesJson.Serialize((await GetGroupAsync(App)).Status));
        var status = (await GetGroupAsync(App)).Status!;
        Assert.True(status.FailoverCount >= 1, $"failoverCount {status.FailoverCount}");
        Assert.Equal((old, result.To), (status.LastFailover?.From, status.LastFailover?.To));

        // The replacement joins as standby; the deleted pod is gone; the active and the Endpoints stay put.
        await timeline.WaitAsync(() => timeline.IsSteady(App, Members, Service) && timeline.Pod(old) is null, TimeSpan.FromSeconds(90),
            $"{old} gone, its replacement Ready and standby, {result.To} still the only active");
        Assert.Equal(result.To, timeline.ActiveOf(App));
    }

    private static string Timeline(FailoverResult r, string mode) => $"""
        failover ({mode}), in ms after the API server acknowledged the deletion of {r.From}:
          {r.ObservedMs,8:0.0} ms  {r.From} seen terminating
          {r.LeaseMs,8:0.0} ms  Lease holder {r.From} -> {r.LeaseHolder}
          {r.LabelledMs,8:0.0} ms  {r.To} labelled active
          {r.EndpointsMs,8:0.0} ms  Endpoints list only {r.To}
        """;
}

/// <summary>The end-to-end workload: created, and its pods deleted, as the cluster allows.</summary>
public abstract class EndToEndWorkload
{
    public abstract string Mode { get; }
    public abstract TimeSpan ReadyTimeout { get; }
    public abstract Task CreateAsync(int members);
    public abstract Task DeleteAsync(string pod);

    /// <summary>Whether a node can run pods: one that reports Ready (the kubelet stand-in's Node never does).</summary>
    public static async Task<bool> AnyNodeReadyAsync(IKubernetes client) =>
        (await client.CoreV1.ListNodeAsync()).Items.Any(n => n.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true);
}
