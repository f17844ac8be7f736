using System.Diagnostics;
using FailoverOperator.Failover;
using FailoverOperator.Testing;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FailoverDemo;

/// <summary>
/// The fenced scene (real mode, after the main one): a group with spec.fencing Agent whose pods run
/// failover-agent beside the app container, with hooks that write their role and term. One readiness
/// failure: the old active's demote hook (term N), its acknowledgement, then the new active's promote
/// hook (term N+1), on screen in ms. The agents reach the API server through a proxy this program runs
/// on the node's bridge address, so the scene removes its objects when it ends.
/// </summary>
public sealed class FencedScene(Cluster cluster, string ns, string appImage, string agentImage, string nodeIp)
{
    public const string GroupName = "fenced";
    private const string ServiceAccount = GroupName + "-agent";

    private AgentPods? pods;
    private readonly Stopwatch sinceStart = new();

    /// <summary>Before the main scene: the pods start while it runs (the scene itself then takes seconds, not tens).</summary>
    public async Task PrepareAsync()
    {
        sinceStart.Start();
        var api = cluster.Api;
        var hostDir = Path.Combine(Path.GetTempPath(), $"failover-demo-hooks-{ns}");
        if (Directory.Exists(hostDir)) Directory.Delete(hostDir, recursive: true);
        pods = new AgentPods(nodeIp, agentImage, cluster.KubeconfigPath ?? Kubeconfigs.Default, hostDir);
        await RemoveAsync(api);
        await CreateRbacAsync(api);
        await api.AppsV1.CreateNamespacedDeploymentAsync(pods.SidecarDeployment(GroupName, appImage, ServiceAccount), ns);
    }

    public async Task RunAsync()
    {
        var total = Stopwatch.StartNew();
        var api = cluster.Api;
        var pods = this.pods ?? throw new InvalidOperationException("PrepareAsync first");
        Console.WriteLine();
        Console.WriteLine($"[fenced] spec.fencing: Agent. Group {GroupName}: 3 pods, each an app container and failover-agent as a sidecar ({agentImage})");
        DemoOutput.Detail("whose hooks run on every role change; the new active is promoted only once the old one's agent acknowledged its demotion.");
        await UntilAsync(async () => (await PodsAsync(api)).Count(IsReady) == 3, TimeSpan.FromMinutes(2), "the fenced group's 3 pods to be Ready");
        await cluster.CreateGroupAsync(ns, GroupName, configure: s => { s.Fencing = FencingModes.Agent; s.LeaseDurationSeconds = 15; });
        var first = await UntilLineAsync(pods, l => l.What == "active", "the first active's promote hook");
        DemoOutput.Detail($"elected {first.Pod}; its agent renews the Lease every 5 s and ran its promote hook:");
        DemoOutput.Detail($"  hook> {Hook(first)}");

        DemoOutput.Detail($"failing it: kubectl exec {first.Pod} -- rm {ProbedWorkload.ReadyFile} (readiness fails; the process keeps running)");
        var exec = await ProbedWorkload.ExecAsync(cluster.KubeconfigPath ?? Kubeconfigs.Default, ns, first.Pod, ["rm", ProbedWorkload.ReadyFile], TimeSpan.FromSeconds(20));
        var failedAt = AgentPods.Uptime();
        if (exec.ExitCode != 0) throw new InvalidOperationException($"kubectl exec {first.Pod} -- rm {ProbedWorkload.ReadyFile} failed: {exec.Output}");
        var demote = await UntilLineAsync(pods, l => l.Pod == first.Pod && l.What == "standby" && l.Term == first.Term, $"{first.Pod}'s demote hook");
        var promote = await UntilLineAsync(pods, l => l.What == "active" && l.Term == first.Term + 1, "the new active's promote hook");
        DemoOutput.Line(0, "readiness broken", $"{ProbedWorkload.ReadyFile} removed in {first.Pod}");
        DemoOutput.Line((demote.At - failedAt) * 1000, "demote hook", $"hook> {Hook(demote)}");
        DemoOutput.Line((promote.At - failedAt) * 1000, "promote hook", $"hook> {Hook(promote)}");
        // Events are written off the operator's reconcile path: wait for it a little.
        string? fenced = null;
        try
        {
            await UntilAsync(async () => (fenced = (await api.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: "reason=Fenced")).Items
                .Where(e => e.InvolvedObject?.Name == GroupName).Select(e => e.Message).LastOrDefault()) is not null, TimeSpan.FromSeconds(10), "the Fenced event");
            DemoOutput.Detail($"the operator's Fenced event: {fenced}");
        }
        catch (TimeoutException)
        {
            DemoOutput.Detail("(the operator's Fenced event did not appear within 10 s)");
        }
        DemoOutput.Detail($"term {first.Term} ended before term {promote.Term} began: an application stamping its writes with FAILOVER_TERM can refuse the old one's.");

        await RemoveAsync(api);
        pods.Dispose();
        DemoOutput.Detail($"(fenced scene: {total.Elapsed.TotalSeconds:0.0} s, its pods created {sinceStart.Elapsed.TotalSeconds:0.0} s ago with the main scene's; " +
                          "its objects are removed, since its agents reached the API server through this program)");
    }

    private static string Hook(LogLine l) => $"{l.Pod}: {l.What} term={l.Term} reason={l.Reason}";

    private async Task<List<V1Pod>> PodsAsync(IKubernetes api) =>
        (await api.CoreV1.ListNamespacedPodAsync(ns, labelSelector: $"{Cluster.GroupLabel}={GroupName}")).Items.Where(p => p.Metadata.DeletionTimestamp is null).ToList();

    private static bool IsReady(V1Pod pod) => pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    private static async Task<LogLine> UntilLineAsync(AgentPods pods, Func<LogLine, bool> match, string what)
    {
        LogLine? found = null;
        await UntilAsync(() => Task.FromResult((found = pods.Lines().FirstOrDefault(match)) is not null), TimeSpan.FromSeconds(60), what);
        return found!;
    }

    private static Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what) => Wait.UntilAsync(condition, timeout, what);

    private async Task CreateRbacAsync(IKubernetes api)
    {
        await api.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = ServiceAccount } }, ns);
        await api.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role { Metadata = new V1ObjectMeta { Name = ServiceAccount }, Rules = AgentPods.AgentRules(GroupName) }, ns);
        await api.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = ServiceAccount },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = ServiceAccount },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = ServiceAccount, NamespaceProperty = ns }],
        }, ns);
    }

    /// <summary>What this scene (or a previous run's) created; pods go at once (their agents lose the API with this program anyway).</summary>
    private async Task RemoveAsync(IKubernetes api)
    {
        await Ignore404(() => api.CustomObjects.DeleteNamespacedCustomObjectAsync(HighAvailabilityGroup.Group, HighAvailabilityGroup.Version, ns, HighAvailabilityGroup.Plural, GroupName));
        await Ignore404(() => api.CoordinationV1.DeleteNamespacedLeaseAsync(GroupName, ns));
        await Ignore404(() => api.AppsV1.DeleteNamespacedDeploymentAsync(GroupName, ns, propagationPolicy: "Background"));
        await api.AppsV1.DeleteCollectionNamespacedReplicaSetAsync(ns, labelSelector: $"{Cluster.GroupLabel}={GroupName}");
        await api.CoreV1.DeleteCollectionNamespacedPodAsync(ns, labelSelector: $"{Cluster.GroupLabel}={GroupName}", gracePeriodSeconds: 0);
        await Ignore404(() => api.RbacAuthorizationV1.DeleteNamespacedRoleBindingAsync(ServiceAccount, ns));
        await Ignore404(() => api.RbacAuthorizationV1.DeleteNamespacedRoleAsync(ServiceAccount, ns));
        await Ignore404(() => api.CoreV1.DeleteNamespacedServiceAccountAsync(ServiceAccount, ns));
    }

    private static async Task Ignore404(Func<Task> call)
    {
        try { await call(); }
        catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound) { }
    }
}
