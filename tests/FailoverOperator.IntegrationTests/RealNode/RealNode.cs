using FailoverOperator.IntegrationTests.Infrastructure;

namespace FailoverOperator.IntegrationTests.RealNode;

/// <summary>
/// A real node for end-to-end tests (hack/node.sh: control plane + kube-scheduler + dockerd +
/// kubelet): pods really run, probes really fail, containers really restart. With
/// USE_EXISTING_CLUSTER=true the cluster in KUBECONFIG (e.g. kind) is used, with E2E_IMAGE.
/// </summary>
public sealed class RealNodeCluster() : ClusterFixture("node.sh", "failover-node-tests")
{
    public string AppImage { get; private set; } = Environment.GetEnvironmentVariable("E2E_IMAGE") ?? "busybox:1.36";

    /// <summary>node.env of hack/node.sh (empty on an existing cluster): NODE_IP, DOCKER, DOCKER_HOST, AGENT_IMAGE, ...</summary>
    public IReadOnlyDictionary<string, string> NodeEnv { get; private set; } = new Dictionary<string, string>();

    /// <summary>The node's image of busybox (made with docker import: there is no registry).</summary>
    protected override void Started(string runDir)
    {
        var env = File.ReadAllLines(Path.Combine(runDir, "node.env"))
            .Select(l => l.Split('=', 2)).Where(p => p.Length == 2)
            .ToDictionary(p => p[0].Trim(), p => p[1].Trim().Trim('"', '\''));
        AppImage = env["APP_IMAGE"];
        NodeEnv = env;
    }
}

[CollectionDefinition(Name)]
public sealed class RealNodeCollection : ICollectionFixture<RealNodeCluster>
{
    public const string Name = "real-node";
}
