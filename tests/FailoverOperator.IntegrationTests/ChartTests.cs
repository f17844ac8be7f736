using System.Net;
using FailoverOperator.Failover;
using FailoverOperator.IntegrationTests.Infrastructure;
using FailoverOperator.Manifests;
using FailoverOperator.Runtime;
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
        await RunHelmAsync("install", Release, Chart, "--namespace", Ns, "--set", $"fullnameOverride={Release}", "--set", "nodeLeaseStaleSeconds=12", "--wait=false");
        try
        {
            // Every object of the chart exists.
            var deployment = await Client.AppsV1.ReadNamespacedDeploymentAsync(Release, Ns);
            Assert.Equal(2, deployment.Spec.Replicas);
            Assert.Contains("--leader-elect=true", deployment.Spec.Template.Spec.Containers[0].Args);
            Assert.Contains("--node-lease-stale-seconds=12", deployment.Spec.Template.Spec.Containers[0].Args);
            await Client.RbacAuthorizationV1.ReadNamespacedRoleBindingAsync($"{Release}-node-heartbeats", NodeHeartbeats.Namespace);
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
            await ProveLeastPrivilegeAsync(asOperator);
            await CreatePodsAsync("db", 3);
            await CreateGroupAsync("db", "db");
            // Stopped before the checks below, so it does not act with the rules `helm uninstall` removes.
            var op = await StartOperatorAsync("chart-identity",
                ["--leader-elect=true", $"--leader-election-namespace={Ns}", $"--leader-election-name={Release}-leader", "--node-lease-stale-seconds=12"],
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

            // … and is denied what it does not need, by real requests too.
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

    [Fact]
    public async Task WithWatchNamespaceTheChartGrantsTheWatchedRulesThereOnlyAndNodesStillClusterWide()
    {
        await RunHelmAsync("install", Release, Chart, "--namespace", Ns, "--set", $"fullnameOverride={Release}", "--set", $"watchNamespace={Ns}", "--set", "nodeLeaseStaleSeconds=12", "--wait=false");
        try
        {
            await Client.RbacAuthorizationV1.ReadNamespacedRoleBindingAsync(Release, Ns);
            await Client.RbacAuthorizationV1.ReadClusterRoleBindingAsync($"{Release}-cluster-scoped");
            using var asOperator = new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(await ServiceAccountKubeconfigAsync(Release)));
            await ProveLeastPrivilegeAsync(asOperator, onlyWatchNamespace: true);
        }
        finally
        {
            await RunHelmAsync("uninstall", Release, "--namespace", Ns);
        }
    }

    /// <summary>One access review: a verb on a resource ("pods", "groups/status") in a namespace (null: all), on one object or any.</summary>
    private sealed record Access(string Verb, string Group, string Resource, string? Namespace, string? Name)
    {
        public override string ToString() => $"{Verb} {(Group == "" ? "" : Group + "/")}{Resource}{(Name is null ? "" : " " + Name)} in {Namespace ?? "all namespaces"}";
    }

    /// <summary>
    /// What the chart must allow and deny, derived from the operator's [RbacRule] declarations through
    /// the generator's model (the rules the chart is generated from): every verb on every declared
    /// resource in the release namespace (which is also watched here), on any object and on the
    /// election Lease by name, and list/watch across all namespaces.
    /// </summary>
    /// <param name="onlyWatchNamespace">The chart was installed with watchNamespace (this test's namespace): the watched rules are
    /// granted there only; the cluster-scoped ones (nodes) still cluster-wide.</param>
    private List<(Access Access, bool Allowed)> ExpectedAccess(bool onlyWatchNamespace = false)
    {
        var model = RbacModel.Of(typeof(HighAvailabilityGroup).Assembly);
        var watched = model.Rules(RbacScope.Watched);
        var election = model.Rules(RbacScope.LeaderElection);
        var cluster = model.Rules(RbacScope.Cluster);
        var heartbeats = model.Rules(RbacScope.NodeHeartbeats);
        var leaseName = $"{Release}-leader";
        bool Grants(PolicyRule rule, Access a) =>
            (rule.ApiGroup, rule.Resource) == (a.Group, a.Resource) && rule.Verbs.Contains(a.Verb) && (!rule.OnlyElectionLease || a.Name == leaseName);
        // The ClusterRole is bound cluster-wide; the leader-election Role only in the release namespace; the
        // cluster-scoped rules (nodes) by their own ClusterRoleBinding, asked about with no namespace; the
        // heartbeat Role (installed with nodeLeaseStaleSeconds) only in kube-node-lease.
        bool Allowed(Access a) => (!onlyWatchNamespace || a.Namespace == Ns) && watched.Any(r => Grants(r, a)) || a.Namespace == Ns && election.Any(r => Grants(r, a))
            || a.Namespace is null && cluster.Any(r => Grants(r, a))
            || a.Namespace == NodeHeartbeats.Namespace && heartbeats.Any(r => Grants(r, a));

        var expected = new List<(Access, bool)>();
        foreach (var resource in watched.Concat(election).Select(r => (r.ApiGroup, r.Resource)).Distinct())
        {
            var names = election.Any(r => (r.ApiGroup, r.Resource) == resource) ? new[] { null, leaseName } : [null];
            foreach (var verb in RbacModel.AllVerbs)
            {
                foreach (var name in names) expected.Add(WithVerdict(new Access(verb, resource.ApiGroup, resource.Resource, Ns, name)));
                if (verb is "list" or "watch") expected.Add(WithVerdict(new Access(verb, resource.ApiGroup, resource.Resource, null, null)));
            }
        }
        foreach (var resource in cluster.Select(r => (r.ApiGroup, r.Resource)).Distinct())
        {
            foreach (var verb in RbacModel.AllVerbs) expected.Add(WithVerdict(new Access(verb, resource.ApiGroup, resource.Resource, null, null)));
        }
        foreach (var resource in heartbeats.Select(r => (r.ApiGroup, r.Resource)).Distinct())
        {
            foreach (var verb in RbacModel.AllVerbs) expected.Add(WithVerdict(new Access(verb, resource.ApiGroup, resource.Resource, NodeHeartbeats.Namespace, null)));
        }
        return expected;
        (Access, bool) WithVerdict(Access a) => (a, Allowed(a));
    }

    /// <summary>
    /// Every request the operator makes must be allowed by the chart's rules, the leader election's
    /// included (whose failures the election library does not report), and nothing else. The API
    /// server authorizes from a cache of the RBAC objects, so for a moment after `helm install` a
    /// request may still be denied (a real Deployment retries): each allowed check waits, and fails
    /// naming the verb the chart lacks; the denials are checked once all grants are in effect.
    /// </summary>
    private async Task ProveLeastPrivilegeAsync(IKubernetes asOperator, bool onlyWatchNamespace = false)
    {
        var expected = ExpectedAccess(onlyWatchNamespace);
        Assert.Contains(expected, e => e.Allowed);
        Assert.Contains(expected, e => !e.Allowed);
        foreach (var (access, _) in expected.Where(e => e.Allowed))
        {
            await Wait.UntilAsync(() => IsAllowedAsync(asOperator, access), Wait.Default, $"the chart's ServiceAccount to be allowed to {access}");
        }
        var wronglyAllowed = new List<Access>();
        foreach (var (access, _) in expected.Where(e => !e.Allowed))
        {
            if (await IsAllowedAsync(asOperator, access)) wronglyAllowed.Add(access);
        }
        Assert.True(wronglyAllowed.Count == 0, $"the chart grants what the operator does not declare: {string.Join("; ", wronglyAllowed)}");
        Output.WriteLine($"RBAC: {expected.Count(e => e.Allowed)} declared accesses allowed, {expected.Count(e => !e.Allowed)} others denied");
    }

    private static async Task<bool> IsAllowedAsync(IKubernetes client, Access access)
    {
        var review = await client.AuthorizationV1.CreateSelfSubjectAccessReviewAsync(new V1SelfSubjectAccessReview
        {
            Spec = new V1SelfSubjectAccessReviewSpec
            {
                ResourceAttributes = new V1ResourceAttributes
                {
                    Verb = access.Verb, Group = access.Group, Resource = access.Resource.Split('/')[0],
                    Subresource = access.Resource.Split('/') is [_, var sub] ? sub : null,
                    Name = access.Name, NamespaceProperty = access.Namespace,
                },
            },
        });
        return review.Status.Allowed;
    }

    private static async Task AssertForbiddenAsync(Func<Task> call, string what)
    {
        var e = await Assert.ThrowsAsync<HttpOperationException>(call);
        Assert.True(e.Response.StatusCode == HttpStatusCode.Forbidden, $"{what}: expected 403, got {(int)e.Response.StatusCode}");
    }
}
