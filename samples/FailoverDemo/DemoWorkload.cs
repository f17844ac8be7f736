using FailoverOperator.Testing;

namespace FailoverDemo;

/// <summary>How the demo's pods run.</summary>
public enum DemoMode
{
    /// <summary>No kubelet: a stand-in writes the pods' status as a kubelet would.</summary>
    Simulated,
    /// <summary>A real node (hack/node.sh): containers, exec probes and restarts by a real kubelet.</summary>
    Real,
}

/// <summary>The demo's pods and how their active is failed: what differs between the two modes.</summary>
public abstract class DemoWorkload(Cluster cluster, string ns)
{
    protected Cluster Cluster { get; } = cluster;
    protected string Ns { get; } = ns;

    public static DemoWorkload For(DemoMode mode, Cluster cluster, string ns, string? appImage) => mode switch
    {
        DemoMode.Real => new RealWorkload(cluster, ns, appImage!),
        _ => new SimulatedWorkload(cluster, ns),
    };

    public abstract string Banner { get; }
    public abstract TimeSpan FailoverTimeout { get; }

    /// <summary>Step 2: the group's pods, Running and Ready.</summary>
    public abstract Task CreatePodsAsync(FailoverTimeline timeline);

    /// <summary>Step 4: fails the active, measured by the timeline.</summary>
    public abstract Task<FailoverTimeline.Failover> FailAsync(FailoverTimeline timeline, string active);

    /// <summary>Step 5's first lines: the failure, and when it was seen.</summary>
    public abstract void PrintFailure(FailoverResult r);

    /// <summary>After the failover: what happens to the old active.</summary>
    public abstract Task PrintAftermathAsync(FailoverTimeline timeline, FailoverResult r, int restartsBefore);

    /// <summary>The closing remark, if any.</summary>
    public virtual string? Epilogue(FailoverResult r) => null;
}

/// <summary>Real Pod objects bound to a registered stand-in Node; the kubelet stand-in writes their status.</summary>
public sealed class SimulatedWorkload(Cluster cluster, string ns) : DemoWorkload(cluster, ns)
{
    private readonly KubeletStandIn standIn = new(cluster.Api, ns);

    public override string Banner => """
        Failover Operator demo (mode: simulated pods)
          What is real here: etcd, kube-apiserver, kube-controller-manager (its endpoint controller fills the
          Service's Endpoints), the operator process, the group's Lease, the Service.
          What is simulated: no kubelet runs on this machine. The pods are real Pod objects bound to a
          registered stand-in Node, and a kubelet stand-in (tests/FailoverOperator.Testing/KubeletStandIn.cs) writes their
          status (Running, Ready, pod IP) through the API exactly as a kubelet would. Nothing runs inside them.
          (On a machine where it can run a real node, as root, `make demo` uses real pods.)

        """;

    public override TimeSpan FailoverTimeout => TimeSpan.FromSeconds(30);

    public override async Task CreatePodsAsync(FailoverTimeline timeline)
    {
        await KubeletStandIn.EnsureNodeAsync(Cluster.Api);
        await Cluster.CreateMembersAsync(standIn, Demo.GroupName, Demo.Members);
        await timeline.WaitAsync(() => timeline.PodsOf(Demo.GroupName) is { Count: Demo.Members } p && p.All(x => x.Ready), TimeSpan.FromSeconds(30),
            "the stand-in's pods to be Ready");
        var pods = timeline.PodsOf(Demo.GroupName);
        DemoOutput.Step(2, $"pods {string.Join(", ", pods.Select(p => p.Name))} (label app={Demo.GroupName}) created on Node {KubeletStandIn.NodeName};");
        DemoOutput.Detail($"the stand-in reported them Running and Ready with pod IPs {string.Join(", ", pods.Select(p => p.Ip))}");
    }

    public override Task<FailoverTimeline.Failover> FailAsync(FailoverTimeline timeline, string active)
    {
        DemoOutput.Step(4, $"failing the active: the stand-in writes Ready=False into {active}'s status, as its kubelet would after failed readiness probes");
        return timeline.FailAsync(Demo.GroupName, active, Demo.ServiceName, () => standIn.SetReadyAsync(active, false));
    }

    public override void PrintFailure(FailoverResult r)
    {
        DemoOutput.Step(5, "failover timeline, in ms after the API server acknowledged the failure:");
        DemoOutput.Line(0, "failure written", $"{r.From} Ready=False (status patch acknowledged: response received {r.WriteMs:0.0} ms after sending)");
        if (r.ObservedMs is { } seen)
        {
            DemoOutput.Line(seen, "failure seen", "by a watcher (this program's pod watch" +
                (seen < 0 ? "; the event and the write's response leave the API server together, either may arrive first)" : ")"));
        }
    }

    public override Task PrintAftermathAsync(FailoverTimeline timeline, FailoverResult r, int restartsBefore) => Task.CompletedTask;

    public override string? Epilogue(FailoverResult r) =>
        $"{r.From} stays NotReady (its 'kubelet' is the stand-in, which this demo does not run again).";
}
