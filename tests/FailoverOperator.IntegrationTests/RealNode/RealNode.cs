using System.Diagnostics;
using FailoverOperator.IntegrationTests.Infrastructure;
using FailoverOperator.Testing;
using k8s;

namespace FailoverOperator.IntegrationTests.RealNode;

/// <summary>
/// A real node for end-to-end tests (hack/node.sh: control plane + kube-scheduler + dockerd +
/// kubelet): pods really run, probes really fail, containers really restart. With
/// USE_EXISTING_CLUSTER=true the cluster in KUBECONFIG (e.g. kind) is used, with E2E_IMAGE.
/// </summary>
public sealed class RealNodeCluster : ICluster, IAsyncLifetime
{
    private string? runDir;

    public string KubeconfigPath { get; private set; } = "";
    public IKubernetes Client { get; private set; } = null!;
    public bool IsOwned => runDir is not null;
    public string AppImage { get; private set; } = "busybox:1.36";
    public TimeSpan StartTime { get; private set; }

    public async Task InitializeAsync()
    {
        var watch = Stopwatch.StartNew();
        if (ControlPlane.UseExistingCluster)
        {
            KubeconfigPath = Kubeconfigs.Default;
            AppImage = Environment.GetEnvironmentVariable("E2E_IMAGE") ?? AppImage;
        }
        else
        {
            runDir = RunDirectories.ForThisRun("failover-node-tests");
            await ProcessRunner.RunCheckedAsync("bash", [RepoPaths.Of("hack", "node.sh"), "up", runDir], TimeSpan.FromMinutes(20),
                [("OWNER_PID", Environment.ProcessId.ToString())]);
            KubeconfigPath = Path.Combine(runDir, "kubeconfig");
            var env = File.ReadAllLines(Path.Combine(runDir, "node.env"))
                .Select(l => l.Split('=', 2)).Where(p => p.Length == 2)
                .ToDictionary(p => p[0].Trim(), p => p[1].Trim().Trim('"', '\''));
            AppImage = env["APP_IMAGE"];
        }
        StartTime = watch.Elapsed;
        Client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(KubeconfigPath));
        await Cluster.InstallCrdAsync(Client);
    }

    public async Task DisposeAsync()
    {
        if (runDir is not null) await ProcessRunner.RunCheckedAsync("bash", [RepoPaths.Of("hack", "node.sh"), "down", runDir], TimeSpan.FromMinutes(3));
    }

    public Task RestartApiServerAsync() => throw new NotSupportedException("the real-node tests do not restart the API server");
}

[CollectionDefinition(Name)]
public sealed class RealNodeCollection : ICollectionFixture<RealNodeCluster>
{
    public const string Name = "real-node";
}
