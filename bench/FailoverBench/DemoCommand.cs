using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using FailoverOperator.Failover;
using FailoverOperator.Testing;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FailoverBench;

/// <summary>
/// `demo`: one group of three pods in namespace demo, a Service that follows the active, and one live
/// failover with its timeline in milliseconds. Re-runnable: the previous demo objects are removed first.
/// The operator must already be running (hack/demo.sh starts it).
/// </summary>
public static class DemoCommand
{
    private const string Ns = "demo";
    private const string GroupName = "demo";
    private const string ServiceName = "demo-active";
    private const int Members = 3;

    public static async Task<int> RunAsync(Cluster cluster)
    {
        var api = cluster.Api;
        Console.WriteLine("""
            Failover Operator demo
              What is real here: etcd, kube-apiserver, kube-controller-manager (its endpoint controller fills the
              Service's Endpoints), the operator process, the group's Lease, the Service.
              What is simulated: no kubelet runs on this machine. The pods are real Pod objects bound to a
              registered stand-in Node, and a kubelet stand-in (tests/Shared/KubeletStandIn.cs) writes their
              status (Running, Ready, pod IP) through the API exactly as a kubelet would. Nothing runs inside them.

            """);

        await cluster.RequireCrdAsync();
        await KubeletStandIn.EnsureNodeAsync(api);
        Step(1, $"namespace {Ns}: {await ResetAsync(cluster)}");

        await using var timeline = await FailoverTimeline.StartAsync(cluster.Watches, Ns, watchEndpoints: true);
        var kubelet = new KubeletStandIn(api, Ns);
        await cluster.CreateActiveServiceAsync(Ns, ServiceName, GroupName);
        await Cluster.CreateMembersAsync(kubelet, GroupName, Members);
        var names = Enumerable.Range(0, Members).Select(i => Cluster.MemberName(GroupName, i)).ToList();
        Step(2, $"pods {string.Join(", ", names)} (label app={GroupName}) created on Node {KubeletStandIn.NodeName};");
        Detail($"the stand-in reported them Running and Ready with pod IPs {string.Join(", ", names.Select(kubelet.PodIp))}");
        Detail($"Service {ServiceName} selects app={GroupName},{FailoverTimeline.RoleLabel}={Roles.Active} (port 80 -> 8080)");

        await cluster.CreateGroupAsync(Ns, GroupName);
        Step(3, $"HighAvailabilityGroup {GroupName} created (selector app={GroupName}); the operator elects an active:");
        await timeline.WaitAsync(() => timeline.IsSteady(GroupName, Members, ServiceName), TimeSpan.FromSeconds(60),
            "the operator to elect an active and the Service's Endpoints to follow (is the operator running? see its log)");
        await Kubectl(cluster, "get", "hag", "-n", Ns);
        var active = timeline.ActiveOf(GroupName)!;
        Detail($"active: {active} ({kubelet.PodIp(active)}); Lease {Ns}/{GroupName} held by {timeline.LeaseHolder(GroupName)}; " +
               $"Service {ServiceName} -> Endpoints {timeline.Endpoints(ServiceName)}");

        Step(4, $"failing the active: the stand-in writes Ready=False into {active}'s status, as its kubelet would after failed readiness probes");
        var failoversBefore = timeline.Group(GroupName)?.FailoverCount ?? 0;
        var failover = await timeline.FailAsync(GroupName, active, ServiceName, () => kubelet.SetReadyAsync(active, false));
        var r = await failover.WaitAsync(TimeSpan.FromSeconds(30));

        Step(5, "failover timeline, in ms after the API server acknowledged the failure:");
        Line(0, "failure written", $"{r.From} Ready=False (status patch acknowledged: response received {r.WriteMs:0.0} ms after sending)");
        if (r.ObservedMs is { } seen)
        {
            Line(seen, "failure seen", "by a watcher (this program's pod watch" +
                (seen < 0 ? "; the event and the write's response leave the API server together, either may arrive first)" : ")"));
        }
        Line(r.LeaseMs, "Lease moved", $"Lease {Ns}/{GroupName}: holder {r.From} -> {r.LeaseHolder}");
        Line(r.LabelledMs, "new active labelled", $"{r.To} {FailoverTimeline.RoleLabel}={Roles.Active} ({r.From} is standby)");
        Line(r.EndpointsMs!.Value, "Endpoints switched", $"Service {ServiceName} -> {kubelet.PodIp(r.To)} only (was {kubelet.PodIp(r.From)})");
        if (r.LabelledMs < r.LeaseMs || r.EndpointsMs < r.LabelledMs || r.ObservedMs > r.LeaseMs)
        {
            Detail("(each kind arrives on its own watch stream; on a busy machine they may be a few ms out of causal order)");
        }

        try
        {
            await timeline.WaitAsync(() => timeline.Group(GroupName) is { Phase: GroupPhase.Healthy } g && g.ActivePod == r.To && g.FailoverCount > failoversBefore,
                TimeSpan.FromSeconds(10), "the group's status to record the failover");
            var last = (await cluster.GetGroupAsync(Ns, GroupName))?.Status?.LastFailover;
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
        await Kubectl(cluster, "get", "hag,pods,lease", "-n", Ns, "-L", FailoverTimeline.RoleLabel);
        await Kubectl(cluster, "get", "endpoints", ServiceName, "-n", Ns);
        Detail($"{r.From} stays NotReady (its 'kubelet' is the stand-in, which this demo does not run again).");
        return 0;
    }

    /// <summary>Removes what a previous run left (group, Lease, pods, Service, Events), keeping the namespace.</summary>
    private static async Task<string> ResetAsync(Cluster cluster)
    {
        var api = cluster.Api;
        if (!await cluster.NamespaceExistsAsync(Ns))
        {
            await cluster.EnsureNamespaceAsync(Ns);
            return "created";
        }
        var ns = await api.CoreV1.ReadNamespaceAsync(Ns);
        if (ns.Status?.Phase == "Terminating")
        {
            await cluster.EnsureNamespaceAsync(Ns);
            return "re-created (the previous one was terminating)";
        }
        await Ignore404(() => api.CustomObjects.DeleteNamespacedCustomObjectAsync(HighAvailabilityGroup.Group, HighAvailabilityGroup.Version, Ns, HighAvailabilityGroup.Plural, GroupName));
        await Ignore404(() => api.CoordinationV1.DeleteNamespacedLeaseAsync(GroupName, Ns));
        try
        {
            await Ignore404(() => api.CoreV1.DeleteNamespacedServiceAsync(ServiceName, Ns));
        }
        catch (System.Text.Json.JsonException)
        {
            // Deleted: API servers before 1.21 answer a Service deletion with a Status, not the Service.
        }
        await api.CoreV1.DeleteCollectionNamespacedPodAsync(Ns, labelSelector: $"{FailoverTimeline.GroupLabel}={GroupName}", gracePeriodSeconds: 0);
        await api.CoreV1.DeleteCollectionNamespacedEventAsync(Ns);
        var deadline = Stopwatch.StartNew();
        while ((await api.CoreV1.ListNamespacedPodAsync(Ns)).Items.Count > 0
               || (await api.CoordinationV1.ListNamespacedLeaseAsync(Ns)).Items.Any(l => l.Metadata.Name == GroupName)
               || await cluster.GetGroupAsync(Ns, GroupName) is not null)
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException($"the previous demo objects in {Ns} were not gone after 60 s");
            await Task.Delay(100);
        }
        await cluster.EnsureNamespaceAsync(Ns);
        return "the previous demo's group, Lease, pods, Service and Events removed";
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
            var start = new ProcessStartInfo("kubectl", all) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            foreach (var line in ((await stdout) + (await stderr)).TrimEnd().Split('\n')) Console.WriteLine($"      {line}");
        }
        catch (Win32Exception)
        {
            Console.WriteLine("      (kubectl is not on PATH)");
        }
    }
}
