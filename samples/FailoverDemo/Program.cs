using System.CommandLine;
using FailoverDemo;
using FailoverOperator.Testing;

var kubeconfig = new Option<string?>("--kubeconfig") { Description = "the cluster (default: KUBECONFIG, else ~/.kube/config)" };
var mode = new Option<DemoMode>("--mode")
{
    Description = "simulated: pods bound to a stand-in Node whose status this program writes; " +
                  "real: a Deployment of busybox pods on a real node (hack/node.sh), the active's liveness probe broken from inside its container",
    DefaultValueFactory = _ => DemoMode.Simulated,
};
var appImage = new Option<string?>("--app-image")
{
    Description = "real mode: an image on the node, e.g. hack/node.sh's APP_IMAGE (pulled only if absent)",
};
var agentImage = new Option<string?>("--agent-image")
{
    Description = "real mode: hack/node.sh's AGENT_IMAGE; with --node-ip, a fenced scene (spec.fencing Agent, hooks with their terms) follows",
};
var nodeIp = new Option<string?>("--node-ip")
{
    Description = "real mode: hack/node.sh's NODE_IP, where the fenced scene's agents reach this program's proxy to the API server",
};
var ns = new Option<string>("--namespace")
{
    Description = "where the demo's objects go (created if missing; the previous demo's are removed)",
    DefaultValueFactory = _ => Demo.DefaultNamespace,
};
var command = new RootCommand("""
    FailoverDemo: one group of 3 pods and one live failover with its timeline in ms (make demo).
    The operator must be running (hack/demo.sh up does all of it).
    """) { kubeconfig, mode, appImage, agentImage, nodeIp, ns };
command.Validators.Add(r =>
{
    if (r.GetValue(mode) == DemoMode.Real && r.GetValue(appImage) is null) r.AddError("--mode=real needs --app-image=IMAGE (an image present on the node)");
    if ((r.GetValue(agentImage) is null) != (r.GetValue(nodeIp) is null) || (r.GetValue(agentImage) is not null && r.GetValue(mode) != DemoMode.Real))
    {
        r.AddError("the fenced scene needs --mode=real with both --agent-image and --node-ip");
    }
});
command.SetAction(async (r, _) =>
{
    try
    {
        using var cluster = Cluster.Connect(r.GetValue(kubeconfig));
        var workload = DemoWorkload.For(r.GetValue(mode), cluster, r.GetValue(ns)!, r.GetValue(appImage));
        var fenced = r.GetValue(agentImage) is { } agent && r.GetValue(nodeIp) is { } ip
            ? new FencedScene(cluster, r.GetValue(ns)!, r.GetValue(appImage)!, agent, ip)
            : null;
        var status = await new Demo(cluster, workload, r.GetValue(ns)!, fenced is null ? null : fenced.PrepareAsync).RunAsync();
        if (status == 0 && fenced is not null) await fenced.RunAsync();
        return status;
    }
    catch (Exception e) when (e is TimeoutException or InvalidOperationException or k8s.Autorest.HttpOperationException or HttpRequestException
                                  or TaskCanceledException or IOException)
    {
        Console.Error.WriteLine($"FailoverDemo: error: {FailoverOperator.Runtime.ApiErrors.Describe(e)}");
        return 1;
    }
});
return await command.Parse(args).InvokeAsync();
