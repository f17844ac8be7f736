using System.Net;
using FailoverOperator.IntegrationTests.Infrastructure;

namespace FailoverOperator.IntegrationTests.RealNode;

/// <summary>
/// Two real nodes for end-to-end tests (NODES=2 hack/node.sh: control plane + kube-scheduler + a
/// dockerd and a kubelet per node): pods really run, probes really fail, containers really restart,
/// and a node can be made to stop heartbeating. With USE_EXISTING_CLUSTER=true the cluster in
/// KUBECONFIG (e.g. kind) is used, with E2E_IMAGE.
/// </summary>
public sealed class RealNodeCluster() : ClusterFixture("node.sh", "failover-node-tests")
{
    public const int NodeCount = 2;

    public string AppImage { get; private set; } = Environment.GetEnvironmentVariable("E2E_IMAGE") ?? "busybox:1.36";

    /// <summary>node.env of hack/node.sh (empty on an existing cluster): NODE_IP, DOCKER, DOCKER_HOST, AGENT_IMAGE, NODE_&lt;i&gt;_..., ...</summary>
    public IReadOnlyDictionary<string, string> NodeEnv { get; private set; } = new Dictionary<string, string>();

    /// <summary>The nodes hack/node.sh started, node-1 first (empty on an existing cluster).</summary>
    public IReadOnlyList<LocalNode> Nodes { get; private set; } = [];

    protected override (string Name, string Value)[] ScriptEnvironment => [("NODES", NodeCount.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>The node's image of busybox (made with docker import: there is no registry).</summary>
    protected override void Started(string runDir)
    {
        var env = File.ReadAllLines(Path.Combine(runDir, "node.env"))
            .Select(l => l.Split('=', 2)).Where(p => p.Length == 2)
            .ToDictionary(p => p[0].Trim(), p => p[1].Trim().Trim('"', '\''));
        AppImage = env["APP_IMAGE"];
        NodeEnv = env;
        Nodes = Enumerable.Range(1, int.Parse(env["NODE_COUNT"], System.Globalization.CultureInfo.InvariantCulture))
            .Select(i => new LocalNode(
                env[$"NODE_{i}_NAME"], env[$"NODE_{i}_IP"], IPNetwork.Parse(env[$"NODE_{i}_POD_CIDR"]),
                env[$"NODE_{i}_DOCKER_HOST"], env[$"NODE_{i}_CGROUP_ROOT"]))
            .ToList();
    }

    public LocalNode Node(string name) => Nodes.Single(n => n.Name == name);

    /// <summary>Freezes the node's kubelet (SIGSTOP): no heartbeats, no status, no probes; its containers run on.</summary>
    public Task StopKubeletAsync(string node) => HackScript.RunAsync("node.sh", ["kubelet-stop", RunDir!, node], TimeSpan.FromSeconds(30));

    /// <summary>Resumes a kubelet frozen by <see cref="StopKubeletAsync"/> (SIGCONT).</summary>
    public Task StartKubeletAsync(string node) => HackScript.RunAsync("node.sh", ["kubelet-start", RunDir!, node], TimeSpan.FromSeconds(30));
}

/// <summary>One node of hack/node.sh (node.env's NODE_&lt;i&gt;_* lines).</summary>
/// <param name="Name">the Node's name, also its kubernetes.io/hostname label</param>
/// <param name="Ip">its bridge address (the InternalIP the API server reaches its kubelet on)</param>
/// <param name="PodNetwork">the bridge's subnet: every pod of the node has an address in it</param>
/// <param name="DockerHost">its dockerd (unix://...)</param>
/// <param name="CgroupRoot">every pod and container cgroup of the node lies below it in each hierarchy</param>
public sealed record LocalNode(string Name, string Ip, IPNetwork PodNetwork, string DockerHost, string CgroupRoot);

[CollectionDefinition(Name)]
public sealed class RealNodeCollection : ICollectionFixture<RealNodeCluster>
{
    public const string Name = "real-node";
}
