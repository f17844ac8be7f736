using System.Diagnostics;
using FailoverOperator.Failover;
using FailoverOperator.Testing;
using k8s;

namespace FailoverDemo;

/// <summary>A Deployment of busybox pods on a real node; the failure is caused inside the active container.</summary>
public sealed class RealWorkload(Cluster cluster, string ns, string image) : DemoWorkload(cluster, ns)
{
    public override string Banner => """
        Failover Operator demo (mode: real node)
          Everything is real: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, a kubelet with
          its own dockerd on this machine (node "localhost"), the operator process. The pods are busybox
          containers whose exec probes test files: readiness `test -f /tmp/ready`, liveness
          `test -f /tmp/alive`, every second. The failure below is caused inside the active container.

        """;

    public override TimeSpan FailoverTimeout => TimeSpan.FromSeconds(60);

    public override async Task CreatePodsAsync(FailoverTimeline timeline)
    {
        var created = Stopwatch.StartNew();
        await Cluster.Api.AppsV1.CreateNamespacedDeploymentAsync(ProbedWorkload.Deployment(Demo.GroupName, image, "IfNotPresent", Demo.Members), Ns);
        await timeline.WaitAsync(() => timeline.PodsOf(Demo.GroupName) is { Count: Demo.Members } p && p.All(x => x.Ready), TimeSpan.FromMinutes(2),
            $"the Deployment's {Demo.Members} pods to run and pass their readiness probes on the node");
        var pods = timeline.PodsOf(Demo.GroupName);
        DemoOutput.Step(2, $"Deployment {Demo.GroupName} ({image}, label app={Demo.GroupName}): {Demo.Members} pods scheduled, started and Ready " +
                           $"in {created.Elapsed.TotalSeconds:0.0} s:");
        DemoOutput.Detail(string.Join(", ", pods.Select(p => $"{p.Name} ({p.Ip})")));
    }

    public override Task<FailoverTimeline.Failover> FailAsync(FailoverTimeline timeline, string active)
    {
        DemoOutput.Step(4, $"failing the active: kubectl exec {active} -- rm {ProbedWorkload.AliveFile}. Its liveness probe now fails; " +
                           "the kubelet kills and restarts the container");
        return timeline.FailAsync(Demo.GroupName, active, Demo.ServiceName, async () =>
        {
            var exec = await ProbedWorkload.ExecAsync(Cluster.KubeconfigPath ?? Kubeconfigs.Default, Ns, active, ["rm", ProbedWorkload.AliveFile], TimeSpan.FromSeconds(20));
            if (exec.ExitCode != 0) throw new InvalidOperationException($"kubectl exec {active} -- rm {ProbedWorkload.AliveFile} failed ({exec.ExitCode}): {exec.Output}");
        });
    }

    public override void PrintFailure(FailoverResult r)
    {
        DemoOutput.Step(5, $"failover timeline, in ms after `rm {ProbedWorkload.AliveFile}` ran in {r.From}:");
        DemoOutput.Line(0, "liveness broken", $"{ProbedWorkload.AliveFile} removed (kubectl exec took {r.WriteMs:0.0} ms); the next probe, within 1 s, fails");
        if (r.ObservedMs is { } notReady) DemoOutput.Line(notReady, "Ready=False", $"the kubelet killed {r.From}'s container and reported it not Ready");
    }

    public override async Task PrintAftermathAsync(FailoverTimeline timeline, FailoverResult r, int restartsBefore)
    {
        try
        {
            var back = await timeline.WaitAsync(() => timeline.Pod(r.From) is { Ready: true, Role: Roles.Standby } p && p.Restarts > restartsBefore,
                TimeSpan.FromSeconds(60), $"{r.From} to be restarted and Ready again as standby");
            DemoOutput.Line(r.Ms(back), "old active is back", $"{r.From} restarted by the kubelet, Ready again, role {Roles.Standby} (no fail-back)");
        }
        catch (TimeoutException e)
        {
            DemoOutput.Detail($"({e.Message})");
        }
    }
}
