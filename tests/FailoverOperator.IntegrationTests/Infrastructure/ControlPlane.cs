using FailoverOperator.Testing;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FailoverOperator.IntegrationTests.Infrastructure;

/// <summary>
/// One genuine control plane per test run, started by hack/control-plane.sh (its watchdog stops it
/// if this process dies). With USE_EXISTING_CLUSTER=true the tests use the cluster in KUBECONFIG.
/// </summary>
public sealed class ControlPlane : ICluster, IAsyncLifetime
{
    private string? runDir;

    public string KubeconfigPath { get; private set; } = "";
    public IKubernetes Client { get; private set; } = null!;
    public bool IsOwned => runDir is not null;

    public static bool UseExistingCluster =>
        string.Equals(Environment.GetEnvironmentVariable("USE_EXISTING_CLUSTER"), "true", StringComparison.OrdinalIgnoreCase);

    public async Task InitializeAsync()
    {
        if (UseExistingCluster)
        {
            KubeconfigPath = Kubeconfigs.Default;
        }
        else
        {
            runDir = RunDirectories.ForThisRun("failover-tests");
            await RunScriptAsync(["up", runDir], TimeSpan.FromMinutes(20), ("OWNER_PID", Environment.ProcessId.ToString()));
            KubeconfigPath = Path.Combine(runDir, "kubeconfig");
        }
        Client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(KubeconfigPath));
        await Cluster.InstallCrdAsync(Client);
    }

    public async Task DisposeAsync()
    {
        if (runDir is not null) await RunScriptAsync(["down", runDir], TimeSpan.FromMinutes(1));
    }

    /// <summary>Stops and restarts kube-apiserver (same port, same data), as an upgrade or crash would.</summary>
    public Task RestartApiServerAsync() =>
        runDir is null ? throw new InvalidOperationException("only a control plane started by the tests can be restarted")
            : RunScriptAsync(["restart-apiserver", runDir], TimeSpan.FromMinutes(2));

    private static Task RunScriptAsync(string[] args, TimeSpan timeout, params (string Name, string Value)[] env) =>
        ProcessRunner.RunCheckedAsync("bash", [RepoPaths.Of("hack", "control-plane.sh"), .. args], timeout, env);
}

/// <summary>A cluster the tests run against.</summary>
public interface ICluster
{
    string KubeconfigPath { get; }
    IKubernetes Client { get; }
    /// <summary>Started by the tests (so it may be restarted), not a user's existing cluster.</summary>
    bool IsOwned { get; }
    Task RestartApiServerAsync();
}

[CollectionDefinition(Name)]
public sealed class ControlPlaneCollection : ICollectionFixture<ControlPlane>
{
    public const string Name = "control-plane";
}
