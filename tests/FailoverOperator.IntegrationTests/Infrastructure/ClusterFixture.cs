using System.Diagnostics;
using k8s;

namespace FailoverOperator.IntegrationTests.Infrastructure;

/// <summary>
/// A cluster the tests run against, started once per test run by a script of hack/ (whose watchdog
/// stops it if this process dies) in a run directory of its own; or, with USE_EXISTING_CLUSTER=true,
/// the cluster in KUBECONFIG (kind, for example). Either way the CRD is installed from crds/.
/// </summary>
public abstract class ClusterFixture(string script, string runPrefix) : IAsyncLifetime
{
    protected string? RunDir { get; private set; }

    public string KubeconfigPath { get; private set; } = "";
    public IKubernetes Client { get; private set; } = null!;
    /// <summary>Started by the tests (so it may be restarted), not a user's existing cluster.</summary>
    public bool IsOwned => RunDir is not null;
    public TimeSpan StartTime { get; private set; }

    public static bool UseExistingCluster =>
        string.Equals(Environment.GetEnvironmentVariable("USE_EXISTING_CLUSTER"), "true", StringComparison.OrdinalIgnoreCase);

    public async Task InitializeAsync()
    {
        var watch = Stopwatch.StartNew();
        if (UseExistingCluster)
        {
            KubeconfigPath = Kubeconfigs.Default;
        }
        else
        {
            RunDir = RunDirectories.ForThisRun(runPrefix);
            KubeconfigPath = await HackScript.UpAsync(script, RunDir, TimeSpan.FromMinutes(20), ScriptEnvironment);
            Started(RunDir);
        }
        StartTime = watch.Elapsed;
        Client = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(KubeconfigPath));
        await Cluster.InstallCrdAsync(Client);
    }

    /// <summary>Environment variables for the script's <c>up</c>.</summary>
    protected virtual (string Name, string Value)[] ScriptEnvironment => [];

    /// <summary>Reads what the script left in its run directory besides the kubeconfig.</summary>
    protected virtual void Started(string runDir)
    {
    }

    public async Task DisposeAsync()
    {
        if (RunDir is not null) await HackScript.DownAsync(script, RunDir);
    }

    public virtual Task RestartApiServerAsync() => throw new NotSupportedException($"hack/{script} cannot restart the API server alone");
}
