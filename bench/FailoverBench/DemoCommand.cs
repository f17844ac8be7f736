using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using FailoverOperator.Failover;
using FailoverOperator.Testing;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FailoverBench;

/// <summary>How the demo's pods run.</summary>
public enum DemoMode
{
    /// <summary>No kubelet: a stand-in writes the pods' status as a kubelet would.</summary>
    Simulated,
    /// <summary>A real node (hack/node.sh): containers, exec probes and restarts by a real kubelet.</summary>
    Real,
}

/// <summary>
/// `demo`: one group of three pods in namespace demo, a Service that follows the active, and one live
/// failover with its timeline in milliseconds. Re-runnable: the previous demo objects are removed first.
/// The operator must already be running (hack/demo.sh starts it).
/// </summary>
public static class DemoCommand
{
    public const string DefaultNamespace = "demo";
    private const string GroupName = "demo";
    private const string ServiceName = "demo-active";
    private const int Members = 3;

    /// <param name="appImage">real mode: the busybox image present on the node (hack/node.sh's APP_IMAGE)</param>
    public static async Task<int> RunAsync(Cluster cluster, DemoMode mode, string? appImage, string ns = DefaultNamespace)
    {
        if (mode == DemoMode.Real && appImage is null) throw new ArgumentException("--mode=real needs --app-image=IMAGE (an image present on the node)");
        var api = cluster.Api;
        Console.WriteLine(mode == DemoMode.Real
            ? """
              Failover Operator demo (mode: real node)
                Everything is real: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, a kubelet with
                its own dockerd on this machine (node "localhost"), the operator process. The pods are busybox
                containers whose exec probes test files: readiness `test -f /tmp/ready`, liveness
                `test -f /tmp/alive`, every second. The failure below is caused inside the active container.

              """
            : """
              Failover Operator demo (mode: simulated pods)
                What is real here: etcd, kube-apiserver, kube-controller-manager (its endpoint controller fills the
                Service's Endpoints), the operator process, the group's Lease, the Service.
                What is simulated: no kubelet runs on this machine. The pods are real Pod objects bound to a
                registered stand-in Node, and a kubelet stand-in (tests/Shared/KubeletStandIn.cs) writes their
                status (Running, Ready, pod IP) through the API exactly as a kubelet would. Nothing runs inside them.
                (On a machine where it can run a real node, as root, `make demo` uses real pods.)

              """);

        await cluster.RequireCrdAsync();
        Step(1, $"namespace {ns}: {await ResetAsync(cluster, ns)}");

        await using var timeline = await FailoverTimeline.StartAsync(cluster.Watches, ns, watchEndpoints: true);
        await cluster.CreateActiveServiceAsync(ns, ServiceName, GroupName);
        KubeletStandIn? standIn = null;
        if (mode == DemoMode.Real)
        {
            var image = appImage!;
            var created = Stopwatch.StartNew();
            await api.AppsV1.CreateNamespacedDeploymentAsync(ProbedWorkload.Deployment(GroupName, image, "IfNotPresent", Members), ns);
            await timeline.WaitAsync(() => timeline.PodsOf(GroupName) is { Count: Members } p && p.All(x => x.Ready), TimeSpan.FromMinutes(2),
                $"the Deployment's {Members} pods to run and pass their readiness probes on the node");
            var pods = timeline.PodsOf(GroupName);
            Step(2, $"Deployment {GroupName} ({image}, label app={GroupName}): {Members} pods scheduled, started and Ready " +
                    $"in {created.Elapsed.TotalSeconds:0.0} s:");
            Detail(string.Join(", ", pods.Select(p => $"{p.Name} ({p.Ip})")));
        }
        else
        {
            await KubeletStandIn.EnsureNodeAsync(api);
            standIn = new KubeletStandIn(api, ns);
            await Cluster.CreateMembersAsync(standIn, GroupName, Members);
            await timeline.WaitAsync(() => timeline.PodsOf(GroupName) is { Count: Members } p && p.All(x => x.Ready), TimeSpan.FromSeconds(30),
                "the stand-in's pods to be Ready");
            var names = timeline.PodsOf(GroupName).Select(p => p.Name).ToList();
            Step(2, $"pods {string.Join(", ", names)} (label app={GroupName}) created on Node {KubeletStandIn.NodeName};");
            Detail($"the stand-in reported them Running and Ready with pod IPs {string.Join(", ", names.Select(Ip))}");
        }
        Detail($"Service {ServiceName} selects app={GroupName},{FailoverTimeline.RoleLabel}={Roles.Active} (port 80 -> 8080)");

        await cluster.CreateGroupAsync(ns, GroupName);
        Step(3, $"HighAvailabilityGroup {GroupName} created (selector app={GroupName}); the operator elects an active:");
        await timeline.WaitAsync(() => timeline.IsSteady(GroupName, Members, ServiceName), TimeSpan.FromSeconds(60),
            "the operator to elect an active and the Service's Endpoints to follow (is the operator running? see its log)");
        await Kubectl(cluster, "get", "hag", "-n", ns);
        var active = timeline.ActiveOf(GroupName)!;
        var restartsBefore = timeline.Pod(active)!.Restarts;
        Detail($"active: {active} ({Ip(active)}); Lease {ns}/{GroupName} held by {timeline.LeaseHolder(GroupName)}; " +
               $"Service {ServiceName} -> Endpoints {timeline.Endpoints(ServiceName)}");

        var failoversBefore = timeline.Group(GroupName)?.FailoverCount ?? 0;
        FailoverTimeline.Failover failover;
        if (mode == DemoMode.Real)
        {
            Step(4, $"failing the active: kubectl exec {active} -- rm {ProbedWorkload.AliveFile}. Its liveness probe now fails; " +
                    "the kubelet kills and restarts the container");
            failover = await timeline.FailAsync(GroupName, active, ServiceName, async () =>
            {
                var exec = await ProbedWorkload.ExecAsync(cluster.KubeconfigPath ?? Kubeconfigs.Default, ns, active, ["rm", ProbedWorkload.AliveFile], TimeSpan.FromSeconds(20));
                if (exec.ExitCode != 0) throw new InvalidOperationException($"kubectl exec {active} -- rm {ProbedWorkload.AliveFile} failed ({exec.ExitCode}): {exec.Output}");
            });
        }
        else
        {
            Step(4, $"failing the active: the stand-in writes Ready=False into {active}'s status, as its kubelet would after failed readiness probes");
            failover = await timeline.FailAsync(GroupName, active, ServiceName, () => standIn!.SetReadyAsync(active, false));
        }
        var r = await failover.WaitAsync(TimeSpan.FromSeconds(mode == DemoMode.Real ? 60 : 30));

        if (mode == DemoMode.Real)
        {
            Step(5, $"failover timeline, in ms after `rm {ProbedWorkload.AliveFile}` ran in {r.From}:");
            Line(0, "liveness broken", $"{ProbedWorkload.AliveFile} removed (kubectl exec took {r.WriteMs:0.0} ms); the next probe, within 1 s, fails");
            if (r.ObservedMs is { } notReady) Line(notReady, "Ready=False", $"the kubelet killed {r.From}'s container and reported it not Ready");
        }
        else
        {
            Step(5, "failover timeline, in ms after the API server acknowledged the failure:");
            Line(0, "failure written", $"{r.From} Ready=False (status patch acknowledged: response received {r.WriteMs:0.0} ms after sending)");
            if (r.ObservedMs is { } seen)
            {
                Line(seen, "failure seen", "by a watcher (this program's pod watch" +
                    (seen < 0 ? "; the event and the write's response leave the API server together, either may arrive first)" : ")"));
            }
        }
        Line(r.LeaseMs, "Lease moved", $"Lease {ns}/{GroupName}: holder {r.From} -> {r.LeaseHolder}");
        Line(r.LabelledMs, "new active labelled", $"{r.To} {FailoverTimeline.RoleLabel}={Roles.Active} ({r.From} is standby)");
        Line(r.EndpointsMs!.Value, "Endpoints switched", $"Service {ServiceName} -> {Ip(r.To)} only (was {Ip(r.From)})");
        if (r.LabelledMs < r.LeaseMs || r.EndpointsMs < r.LabelledMs || r.ObservedMs > r.LeaseMs)
        {
            Detail("(each kind arrives on its own watch stream; on a busy machine they may be a few ms out of causal order)");
        }
        if (r.ObservedMs is { } observed && observed < r.LeaseMs)
        {
            Detail($"the operator's part, from Ready=False to the new label: {r.LabelledMs - observed:0.0} ms");
        }
        if (mode == DemoMode.Real)
        {
            try
            {
                var back = await timeline.WaitAsync(() => timeline.Pod(r.From) is { Ready: true, Role: Roles.Standby } p && p.Restarts > restartsBefore,
                    TimeSpan.FromSeconds(60), $"{r.From} to be restarted and Ready again as standby");
                Line(r.Ms(back), "old active is back", $"{r.From} restarted by the kubelet, Ready again, role {Roles.Standby} (no fail-back)");
            }
            catch (TimeoutException e)
            {
                Detail($"({e.Message})");
            }
        }

        try
        {
            await timeline.WaitAsync(() => timeline.Group(GroupName) is { Phase: GroupPhase.Healthy } g && g.ActivePod == r.To && g.FailoverCount > failoversBefore,
                TimeSpan.FromSeconds(10), "the group's status to record the failover");
            var last = (await cluster.GetGroupAsync(ns, GroupName))?.Status?.LastFailover;
            if (last is not null)
            {
                Detail($"the operator's own record (status.lastFailover): {last.From} -> {last.To}, reason {last.Reason}, " +
                       $"{last.DurationMilliseconds} ms from its seeing the failure to the new label");
            }
        }
        catch (TimeoutException)
        {
            Detail("(the group's status did not record the failover within 10 s)");
        }

        Step(6, "the result:");
        await Kubectl(cluster, "get", "hag,pods,lease", "-n", ns, "-L", FailoverTimeline.RoleLabel);
        await Kubectl(cluster, "get", "endpoints", ServiceName, "-n", ns);
        if (mode == DemoMode.Simulated)
        {
            Detail($"{r.From} stays NotReady (its 'kubelet' is the stand-in, which this demo does not run again).");
        }
        return 0;

        string? Ip(string pod) => timeline.Pod(pod)?.Ip;
    }

    /// <summary>Removes what a previous run left (group, Lease, pods, Service, Events), keeping the namespace.</summary>
    private static async Task<string> ResetAsync(Cluster cluster, string ns)
    {
        var api = cluster.Api;
        var existing = await cluster.ReadNamespaceAsync(ns);
        if (existing is null)
        {
            await cluster.EnsureNamespaceAsync(ns);
            return "created";
        }
        if (existing.Status?.Phase == "Terminating")
        {
            await cluster.EnsureNamespaceAsync(ns);
            return "re-created (the previous one was terminating)";
        }
        await Ignore404(() => api.CustomObjects.DeleteNamespacedCustomObjectAsync(HighAvailabilityGroup.Group, HighAvailabilityGroup.Version, ns, HighAvailabilityGroup.Plural, GroupName));
        await Ignore404(() => api.CoordinationV1.DeleteNamespacedLeaseAsync(GroupName, ns));
        try
        {
            await Ignore404(() => api.CoreV1.DeleteNamespacedServiceAsync(ServiceName, ns));
        }
        catch (System.Text.Json.JsonException)
        {
            // Deleted: API servers before 1.21 answer a Service deletion with a Status, not the Service.
        }
        // Real mode's Deployment and its ReplicaSets go first, so nothing re-creates the pods deleted next.
        await Ignore404(() => api.AppsV1.DeleteNamespacedDeploymentAsync(GroupName, ns, propagationPolicy: "Background"));
        await api.AppsV1.DeleteCollectionNamespacedReplicaSetAsync(ns, labelSelector: $"{FailoverTimeline.GroupLabel}={GroupName}");
        await api.CoreV1.DeleteCollectionNamespacedPodAsync(ns, labelSelector: $"{FailoverTimeline.GroupLabel}={GroupName}", gracePeriodSeconds: 0);
        await api.CoreV1.DeleteCollectionNamespacedEventAsync(ns);
        var deadline = Stopwatch.StartNew();
        while ((await api.CoreV1.ListNamespacedPodAsync(ns)).Items.Count > 0
               || (await api.CoordinationV1.ListNamespacedLeaseAsync(ns)).Items.Any(l => l.Metadata.Name == GroupName)
               || await cluster.GetGroupAsync(ns, GroupName) is not null)
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException($"the previous demo objects in {ns} were not gone after 60 s");
            await Task.Delay(100);
        }
        await cluster.EnsureNamespaceAsync(ns);
        return "the previous demo's group, Lease, workload, Service and Events removed";
    }

    private static async Task Ignore404(Func<Task> call)
    {
        try { await call(); }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { }
    }

    private static void Step(int n, string text) => Console.WriteLine($"[{n}/6] {text}");

    private static void Detail(string text) => Console.WriteLine($"      {text}");

    private static void Line(double ms, string milestone, string what) =>
        Console.WriteLine($"      {ms,8:0.0} ms  {milestone,-20} {what}");

    /// <summary>Runs the real kubectl and prints its output, indented.</summary>
    private static async Task Kubectl(Cluster cluster, params string[] args)
    {
        var all = cluster.KubeconfigPath is { } k ? [.. args, $"--kubeconfig={k}"] : args;
        Console.WriteLine($"      $ kubectl {string.Join(' ', args)}");
        try
        {
            var result = await ProbedWorkload.RunKubectlAsync(all, TimeSpan.FromSeconds(30));
            foreach (var line in result.Output.TrimEnd().Split('\n')) Console.WriteLine($"      {line}");
        }
        catch (Win32Exception)
        {
            Console.WriteLine("      (kubectl is not on PATH)");
        }
    }
}
