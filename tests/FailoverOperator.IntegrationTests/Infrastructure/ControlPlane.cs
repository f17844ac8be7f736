namespace FailoverOperator.IntegrationTests.Infrastructure;

/// <summary>One genuine control plane per test run (hack/control-plane.sh), or the cluster in KUBECONFIG.</summary>
public sealed class ControlPlane() : ClusterFixture("control-plane.sh", "failover-tests")
{
    /// <summary>Stops and restarts kube-apiserver (same port, same data), as an upgrade or crash would.</summary>
    public override Task RestartApiServerAsync() =>
        RunDir is null ? throw new InvalidOperationException("only a control plane started by the tests can be restarted")
            : HackScript.RestartApiServerAsync(RunDir);
}

[CollectionDefinition(Name)]
public sealed class ControlPlaneCollection : ICollectionFixture<ControlPlane>
{
    public const string Name = "control-plane";
}
