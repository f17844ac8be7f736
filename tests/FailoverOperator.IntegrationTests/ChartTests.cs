using System.Net;
using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;
using FailoverOperator.Testing;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FailoverOperator.IntegrationTests;

/// <summary>The Helm chart, on the real API server: lint, server-side dry run, install, and its RBAC.</summary>
[Collection(ControlPlaneCollection.Name)]
public class ChartTests(ControlPlane plane, ITestOutputHelper output) : ClusterTest(plane, output)
{
    private static readonly string Chart = RepoPaths.Of("charts", "failover-operator");
    private static readonly TimeSpan HelmTimeout = TimeSpan.FromMinutes(3);
    private static string? helm;

    private static async Task<string> HelmAsync()
    {
        helm ??= (await ProcessRunner.RunCheckedAsync("bash", [RepoPaths.Of("hack", "install-helm.sh")], TimeSpan.FromMinutes(5)))
            .Stdout.Trim().Split('\n')[^1];
        return helm;
    }

    private string Release => $"fo-{Ns}";

    private async Task<ProcessRunner.Result> RunHelmAsync(params string[] args) =>
        await ProcessRunner.RunCheckedAsync(await HelmAsync(), [.. args, "--kubeconfig", Plane.KubeconfigPath], HelmTimeout);

    [Fact]
    public async Task TheChartLints()
    {
        var result = await ProcessRunner.RunCheckedAsync(await HelmAsync(), ["lint", Chart, "--strict"], HelmTimeout);
        Assert.Contains("0 chart(s) failed", result.Output);
    }

    [Fact]
    public async Task TheRenderedChartPassesAServerSideDryRun()
    {
        // Without a cluster to ask, helm renders for the server version it is told.
        var serverVersion = (await Client.Version.GetCodeAsync()).GitVersion;
        foreach (var values in new[] { Array.Empty<string>(), ["--set", "podDisruptionBudget.enabled=true", "--set", $"watchNamespace={Ns}"] })
        {
            var rendered = await ProcessRunner.RunCheckedAsync(await HelmAsync(),
                ["template", Release, Chart, "--namespace", Ns, "--kube-version", serverVersion, .. values], HelmTimeout);
            var applied = await ProcessRunner.RunCheckedAsync("kubectl", ["apply", "--dry-run=server", "-f", "-", "--kubeconfig", Plane.KubeconfigPath, "-n", Ns],
                TimeSpan.FromMinutes(1), stdin: rendered.Stdout);
            Assert.Contains("deployment.apps/", applied.Stdout);
            Assert.Contains("(server dry run)", applied.Stdout);
        }
    }

    [Fact]
    public async Task TheChartInstallsAndItsServiceAccountCanFailOverButNothingMore()
    {
        await RunHelmAsync("install", Release, Chart, "--namespace", Ns, "--set", $"fullnameOverride={Release}", "--wait=false");
        try
        {
            // Every object of the chart exists.
            var deployment = await Client.AppsV1.ReadNamespacedDeploymentAsync(Release, Ns);
            Assert.Equal(2, deployment.Spec.Replicas);
            Assert.Contains("--leader-elect=true", deployment.Spec.Template.Spec.Containers[0].Args);
            await Client.CoreV1.ReadNamespacedServiceAccountAsync(Release, Ns);
            var services = await Client.CoreV1.ListNamespacedServiceAsync(Ns, labelSelector: $"app.kubernetes.io/instance={Release}");
            Assert.Contains(Assert.Single(services.Items).Spec.Ports, p => p.Name == "metrics");
            await Client.RbacAuthorizationV1.ReadClusterRoleAsync(Release);
            await Client.RbacAuthorizationV1.ReadClusterRoleBindingAsync(Release);
            Assert.Single((await Client.RbacAuthorizationV1.ListNamespacedRoleAsync(Ns)).Items);
            Assert.Single((await Client.RbacAuthorizationV1.ListNamespacedRoleBindingAsync(Ns)).Items);
            // policy/v1 (1.21+) or policy/v1beta1, whichever the chart chose for this server.
            var pdbs = await ProcessRunner.RunCheckedAsync("kubectl", ["get", "pdb", "-n", Ns, "-o", "name", "--kubeconfig", Plane.KubeconfigPath], TimeSpan.FromMinutes(1));
            Assert.Equal($"poddisruptionbudget.policy/{Release}", pdbs.Stdout.Trim());

            // The operator, run with the chart's ServiceAccount token instead of admin, does a whole failover.
            var kubeconfig = await ServiceAccountKubeconfigAsync(Release);
            var identity = KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
            using var asOperator = new Kubernetes(identity);
            await WaitForBindingsAsync(asOperator);
            await CreatePodsAsync("db", 3);
            await CreateGroupAsync("db", "db");
            // Stopped before the checks below, so it does not act with the rules `helm uninstall` removes.
            var op = await StartOperatorAsync("chart-identity",
                ["--leader-elect=true", $"--leader-election-namespace={Ns}", $"--leader-election-name={Release}-leader"],
                kubeconfig: kubeconfig, allNamespaces: true);
            await using (op)
            {
                var first = await WaitForActiveAsync("db", "db");
                await Kubelet.SetReadyAsync(first, false);
                var second = await WaitForActiveAsync("db", "db", a => a != first);
                await Wait.UntilAsync(async () => (await EventsAsync(EventReasons.Promoted)).Any(e => e.Message.Contains($"replacing {first}")),
                    Wait.Default, "the Promoted event written as the chart's ServiceAccount");
                Assert.Equal(1, (await GetGroupAsync("db")).Status!.FailoverCount);
                // Denied requests are logged with the server's answer (FailoverTests.AnOperatorThatMayNotWatchLeasesIsNotReadyAndNamesTheCache shows it).
                // Not the 403 count: the operator watches every namespace, and a create in another test's
                // namespace that is being deleted is refused with a 403 too.
                Assert.DoesNotMatch(RbacDenial(Ns, Release), op.Log);
                Output.WriteLine($"as the chart's ServiceAccount: {first} -> {second}");
            }

            // … and is denied what it does not need.
            await AssertForbiddenAsync(() => asOperator.CoreV1.ListNamespacedSecretAsync(Ns), "list secrets");
            await AssertForbiddenAsync(() => asOperator.CoreV1.DeleteNamespaceAsync(Ns), "delete a namespace");
            await AssertForbiddenAsync(() => asOperator.CoreV1.DeleteNamespacedPodAsync("db-0", Ns), "delete a pod");
            await AssertForbiddenAsync(() => asOperator.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "x" } }, Ns), "create a ConfigMap");
            await AssertForbiddenAsync(() => asOperator.CustomObjects.DeleteNamespacedCustomObjectAsync(HighAvailabilityGroup.Group,
                HighAvailabilityGroup.Version, Ns, HighAvailabilityGroup.Plural, "db"), "delete a HighAvailabilityGroup");
        }
        finally
        {
            await RunHelmAsync("uninstall", Release, "--namespace", Ns);
        }
        await Assert.ThrowsAsync<HttpOperationException>(() => Client.RbacAuthorizationV1.ReadClusterRoleAsync(Release));
    }

    /// <summary>
    /// Every request the operator makes must be allowed by the chart's rules, the leader election's
    /// included (whose failures the election library does not report). The API server authorizes from
    /// a cache of the RBAC objects, so for a moment after `helm install` a request may still be denied
    /// (a real Deployment retries): each check waits, and fails naming the verb the chart lacks.
    /// </summary>
    private async Task WaitForBindingsAsync(IKubernetes asOperator)
    {
        const string groups = "highavailabilitygroups", leases = "leases", coordination = "coordination.k8s.io";
        var leader = $"{Release}-leader";
        (string Verb, string Group, string Resource, string? Subresource, string? Name)[] needed =
        [
            ("list", "failover.dev", groups, null, null), ("watch", "failover.dev", groups, null, null),
            ("patch", "failover.dev", groups, "status", null),
            ("list", "", "pods", null, null), ("watch", "", "pods", null, null), ("patch", "", "pods", null, null),
            ("list", coordination, leases, null, null), ("watch", coordination, leases, null, null),
            ("create", coordination, leases, null, null), ("update", coordination, leases, null, null),
            ("get", coordination, leases, null, leader), ("update", coordination, leases, null, leader),
            ("create", "", "events", null, null), ("patch", "", "events", null, null),
        ];
        foreach (var (verb, group, resource, subresource, name) in needed)
        {
            await Wait.UntilAsync(async () =>
            {
                var review = await asOperator.AuthorizationV1.CreateSelfSubjectAccessReviewAsync(new V1SelfSubjectAccessReview
                {
                    Spec = new V1SelfSubjectAccessReviewSpec
                    {
                        ResourceAttributes = new V1ResourceAttributes { Verb = verb, Group = group, Resource = resource, Subresource = subresource, Name = name,
                            // The operator lists and watches every namespace; it writes in the group's.
                            NamespaceProperty = verb is "list" or "watch" ? null : Ns },
                    },
                });
                return review.Status.Allowed;
            }, Wait.Default, $"the chart's ServiceAccount to be allowed to {verb} {resource}{(subresource is null ? "" : "/" + subresource)}{(name is null ? "" : " " + name)}");
        }
    }

    private static async Task AssertForbiddenAsync(Func<Task> call, string what)
    {
        var e = await Assert.ThrowsAsync<HttpOperationException>(call);
        Assert.True(e.Response.StatusCode == HttpStatusCode.Forbidden, $"{what}: expected 403, got {(int)e.Response.StatusCode}");
    }
}
