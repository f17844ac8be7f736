using System.Text.Json;
using FailoverOperator.Failover;
using FailoverOperator.Testing;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FailoverOperator.IntegrationTests.Infrastructure;

/// <summary>
/// Base of the tests on the real API server: each test gets its own namespace, a kubelet stand-in,
/// the split-brain recorder (asserted at the end of every test), and the operators it starts
/// (stopped at the end, their logs printed to the test output).
/// </summary>
public abstract class ClusterTest(ClusterFixture plane, ITestOutputHelper output) : IAsyncLifetime
{
    private readonly List<OperatorProcess> operators = [];
    private readonly List<string> tempFiles = [];
    private readonly List<CuttableProxy> proxies = [];

    protected ClusterFixture Plane { get; } = plane;
    protected ITestOutputHelper Output { get; } = output;
    protected IKubernetes Client => Plane.Client;
    /// <summary>The shared helpers, on a connection of this test's own (its watch client has no timeout).</summary>
    protected Cluster Cluster { get; private set; } = null!;
    protected string Ns { get; } = $"t-{Guid.NewGuid().ToString("N")[..10]}";
    protected KubeletStandIn Kubelet { get; private set; } = null!;
    protected SplitBrainRecorder Recorder { get; private set; } = null!;

    public virtual async Task InitializeAsync()
    {
        Cluster = Cluster.Connect(Plane.KubeconfigPath);
        await Cluster.EnsureNamespaceAsync(Ns, timeout: Wait.Default);
        Kubelet = new KubeletStandIn(Client, Ns);
        Recorder = await SplitBrainRecorder.StartAsync(Cluster.Watches, Ns);
    }

    public virtual async Task DisposeAsync()
    {
        foreach (var op in operators)
        {
            await op.DisposeAsync();
            Output.WriteLine($"--- operator {op.Identity} log ---\n{op.Log}");
        }
        foreach (var proxy in proxies) await proxy.DisposeAsync();
        var problem = await Recorder.ProblemAsync();
        await Recorder.DisposeAsync();
        try { await Client.CoreV1.DeleteNamespaceAsync(Ns); } catch (HttpOperationException) { }
        foreach (var delete in clusterCleanups)
        {
            try { await delete(); } catch (HttpOperationException) { }
        }
        foreach (var file in tempFiles)
        {
            try { File.Delete(file); } catch (IOException) { }
        }
        Cluster.Dispose();
        Assert.Null(problem);
    }

    /// <summary>A proxy in front of the API server that the test can cut, and a kubeconfig through it
    /// (beside the original, so its relative certificate paths still hold).</summary>
    protected (CuttableProxy Proxy, string Kubeconfig) StartProxy()
    {
        var (proxy, kubeconfig) = CuttableProxy.InFrontOf(Plane.KubeconfigPath, Path.GetDirectoryName(Plane.KubeconfigPath)!);
        proxies.Add(proxy);
        tempFiles.Add(kubeconfig);
        return (proxy, kubeconfig);
    }

    /// <summary>An operator watching this test's namespace (or every namespace), stopped and its log shown at the end.</summary>
    protected async Task<OperatorProcess> StartOperatorAsync(string identity = "operator", IEnumerable<string>? args = null, bool waitReady = true,
        string? kubeconfig = null, bool allNamespaces = false)
    {
        // Registered before the readiness wait, so an operator that never gets ready is still stopped and its log shown.
        var op = await OperatorProcess.StartAsync(new OperatorLaunch(kubeconfig ?? Plane.KubeconfigPath)
        {
            Namespace = allNamespaces ? null : Ns,
            Identity = identity,
            Args = args ?? [],
        }, waitReady: false);
        operators.Add(op);
        if (waitReady) await op.WaitReadyAsync();
        return op;
    }

    /// <summary>
    /// The API server's RBAC denial of a ServiceAccount, as the operator logs it: inside the JSON body,
    /// so the quotes may be escaped.
    /// </summary>
    protected static System.Text.RegularExpressions.Regex RbacDenial(string serviceAccountNamespace, string serviceAccount, string what = "")
    {
        const string quote = @"(\\*""|\\u0022)";   // " or \" (text log) or \u0022 (JSON log)
        var user = System.Text.RegularExpressions.Regex.Escape($"system:serviceaccount:{serviceAccountNamespace}:{serviceAccount}");
        return new($"User {quote}{user}{quote} cannot {System.Text.RegularExpressions.Regex.Escape(what)}");
    }

    /// <summary>A ServiceAccount of this namespace allowed exactly <paramref name="rules"/> here.</summary>
    protected async Task<V1Role> CreateServiceAccountWithRoleAsync(string name, params V1PolicyRule[] rules)
    {
        await Client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = name } }, Ns);
        var role = await Client.RbacAuthorizationV1.CreateNamespacedRoleAsync(new V1Role { Metadata = new V1ObjectMeta { Name = name }, Rules = rules }, Ns);
        await Client.RbacAuthorizationV1.CreateNamespacedRoleBindingAsync(new V1RoleBinding
        {
            Metadata = new V1ObjectMeta { Name = name },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = name },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = name, NamespaceProperty = Ns }],
        }, Ns);
        return role;
    }

    private readonly List<Func<Task>> clusterCleanups = [];

    /// <summary>Lets a ServiceAccount of this namespace list and watch Nodes (cluster-scoped: a ClusterRole and its binding, removed at the end).</summary>
    protected async Task GrantNodeWatchAsync(string serviceAccount)
    {
        var name = $"{Ns}-{serviceAccount}-nodes";
        await Client.RbacAuthorizationV1.CreateClusterRoleAsync(new V1ClusterRole { Metadata = new V1ObjectMeta { Name = name }, Rules = [Rule("", "nodes", "list", "watch")] });
        clusterCleanups.Add(() => Client.RbacAuthorizationV1.DeleteClusterRoleAsync(name));
        await Client.RbacAuthorizationV1.CreateClusterRoleBindingAsync(new V1ClusterRoleBinding
        {
            Metadata = new V1ObjectMeta { Name = name },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = name },
            Subjects = [new Rbacv1Subject { Kind = "ServiceAccount", Name = serviceAccount, NamespaceProperty = Ns }],
        });
        clusterCleanups.Add(() => Client.RbacAuthorizationV1.DeleteClusterRoleBindingAsync(name));
    }

    /// <summary>A stand-in Node for this test only (name prefixed with the namespace), deleted at the end.</summary>
    protected async Task<string> CreateNodeAsync(string suffix, string? zone = null)
    {
        var name = $"{Ns}-{suffix}";
        await KubeletStandIn.EnsureNodeAsync(Client, name, zone is null ? null : new Dictionary<string, string> { ["topology.kubernetes.io/zone"] = zone });
        clusterCleanups.Add(() => Client.CoreV1.DeleteNodeAsync(name));
        return name;
    }

    protected static V1PolicyRule Rule(string apiGroup, string resource, params string[] verbs) =>
        new() { ApiGroups = [apiGroup], Resources = [resource], Verbs = verbs };

    /// <summary>A kubeconfig that authenticates as the ServiceAccount with a token from the TokenRequest API.</summary>
    protected async Task<string> ServiceAccountKubeconfigAsync(string serviceAccount)
    {
        var token = await Client.CoreV1.CreateNamespacedServiceAccountTokenAsync(
            new Authenticationv1TokenRequest { Spec = new V1TokenRequestSpec { ExpirationSeconds = 3600 } }, serviceAccount, Ns);
        var admin = await KubernetesClientConfiguration.LoadKubeConfigAsync(new FileInfo(Plane.KubeconfigPath));
        var cluster = admin.Clusters.Single(c => c.Name == admin.Contexts.Single(x => x.Name == admin.CurrentContext).ContextDetails.Cluster).ClusterEndpoint;
        var path = Path.Combine(Path.GetTempPath(), $"{Ns}-{serviceAccount}.kubeconfig");
        tempFiles.Add(path);
        var ca = cluster.CertificateAuthorityData is { Length: > 0 } data
            ? $"certificate-authority-data: {data}"
            : $"certificate-authority: {cluster.CertificateAuthority}";
        // A bearer token: readable by this user only.
        File.Create(path).Dispose();
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        await File.WriteAllTextAsync(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: c
              cluster:
                server: {cluster.Server}
                {ca}
            users:
            - name: {serviceAccount}
              user:
                token: {token.Status.Token}
            contexts:
            - name: c
              context: {"{"}cluster: c, user: {serviceAccount}{"}"}
            current-context: c
            """);
        return path;
    }

    /// <summary>
    /// Runs `make demo`'s program in this namespace and checks what both modes promise: exit 0, its mode
    /// in the banner, the timeline up to the Endpoints switch, and a group that failed over once.
    /// </summary>
    protected async Task<(ProcessRunner.Result Run, HighAvailabilityGroupStatus Status)> RunDemoAsync(string modeBanner, params string[] options)
    {
        var run = await DemoProgram.RunAsync(Plane.KubeconfigPath, Ns, options);
        Output.WriteLine(run.Output);
        Assert.True(run.ExitCode == 0, $"the demo exited with {run.ExitCode}:\n{run.Output}");
        Assert.Contains($"mode: {modeBanner}", run.Stdout);
        Assert.Matches(@"\d+\.\d ms  Endpoints switched", run.Stdout);
        var status = (await GetGroupAsync("demo")).Status;
        Assert.True(status?.LastFailover is not null, $"the demo's group has no recorded failover; status: {KubernetesJson.Serialize(status)}");
        Assert.Equal((GroupPhase.Healthy, 1, FailoverReasons.NotReady), (status!.Phase, status.FailoverCount, status.LastFailover!.Reason));
        return (run, status);
    }

    /// <summary>Removes the finalizers a test put on its pods (so the namespace can go), pass or fail; a pod already gone is fine.</summary>
    protected async Task ReleaseFinalizersAsync(IEnumerable<string> pods)
    {
        var none = new V1Patch(new { metadata = new { finalizers = Array.Empty<string>() } }, V1Patch.PatchType.MergePatch);
        foreach (var pod in pods)
        {
            try { await Client.CoreV1.PatchNamespacedPodAsync(none, pod, Ns); }
            catch (HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound) { }
        }
    }

    protected Task CreatePodsAsync(string app, int count, bool ready = true) => Cluster.CreateMembersAsync(Kubelet, app, count, ready);

    protected Task<HighAvailabilityGroup> CreateGroupAsync(string name, string app, Action<HighAvailabilityGroupSpec>? configure = null) =>
        Cluster.CreateGroupAsync(Ns, name, app, configure);

    protected async Task<HighAvailabilityGroup> GetGroupAsync(string name) =>
        await Cluster.GetGroupAsync(Ns, name) ?? throw new InvalidOperationException($"group {Ns}/{name} does not exist");

    protected Task PatchGroupSpecAsync(string name, object spec) => Cluster.PatchGroupSpecAsync(Ns, name, spec);

    protected Task<V1Lease?> GetLeaseAsync(string name) => Cluster.GetLeaseAsync(Ns, name);

    protected Task<Dictionary<string, string?>> RolesAsync(string app) => Cluster.RolesAsync(Ns, app);

    protected async Task<string> DescribeAsync(string group, string app)
    {
        var roles = await RolesAsync(app);
        var lease = await GetLeaseAsync(group);
        var status = (await GetGroupAsync(group)).Status;
        return $"roles: {string.Join(", ", roles.Select(r => $"{r.Key}={r.Value}"))}; lease holder: {lease?.Spec?.HolderIdentity} " +
               $"(transitions {lease?.Spec?.LeaseTransitions}); status: {KubernetesJson.Serialize(status)}";
    }

    /// <summary>Waits until exactly one pod is active, the Lease and status agree on it, and returns it.</summary>
    protected async Task<string> WaitForActiveAsync(string group, string app, Func<string, bool>? accept = null, TimeSpan? timeout = null)
    {
        string? active = null;
        await Wait.UntilAsync(async () =>
        {
            var roles = await RolesAsync(app);
            var actives = roles.Where(r => r.Value == Roles.Active).Select(r => r.Key).ToList();
            if (actives.Count != 1 || roles.Values.Any(r => r is null)) return false;
            var lease = await GetLeaseAsync(group);
            var status = (await GetGroupAsync(group)).Status;
            active = actives[0];
            return lease?.Spec?.HolderIdentity == active && status?.ActivePod == active && (accept?.Invoke(active) ?? true);
        }, timeout ?? Wait.Default, $"one active pod agreed on by labels, Lease and status of {group}", () => DescribeAsync(group, app));
        return active!;
    }

    protected async Task<List<Corev1Event>> EventsAsync(string reason) =>
        (await Client.CoreV1.ListNamespacedEventAsync(Ns, fieldSelector: $"reason={reason}")).Items.ToList();
}
