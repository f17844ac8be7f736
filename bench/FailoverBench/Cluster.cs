using System.Diagnostics;
using System.Net;
using System.Text.Json;
using FailoverOperator.Failover;
using FailoverOperator.Testing;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FailoverBench;

/// <summary>
/// The API server connection and the fixtures the demo and the benchmark share: namespaces, member pods
/// (created and brought to Running/Ready by the kubelet stand-in), groups and the active's Service.
/// </summary>
public sealed class Cluster : IDisposable
{
    /// <summary>Requests time out after 30 s. Both clients stamp response headers (<see cref="ResponseClock"/>).</summary>
    public IKubernetes Api { get; }
    /// <summary>No timeout, for watches.</summary>
    public IKubernetes Watches { get; }
    public string? KubeconfigPath { get; }

    private Cluster(string? kubeconfig)
    {
        KubeconfigPath = kubeconfig;
        Api = Create(kubeconfig, TimeSpan.FromSeconds(30), new ResponseClock());
        Watches = Create(kubeconfig, Timeout.InfiniteTimeSpan, new ResponseClock());
    }

    public static Cluster Connect(string? kubeconfig) => new(kubeconfig);

    private static Kubernetes Create(string? kubeconfig, TimeSpan timeout, params DelegatingHandler[] handlers)
    {
        var config = kubeconfig is not null
            ? KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig)
            : KubernetesClientConfiguration.BuildDefaultConfig();
        config.HttpClientTimeout = timeout;
        return new Kubernetes(config, handlers);
    }

    public async Task<string> ServerVersionAsync() => (await Api.Version.GetCodeAsync()).GitVersion;

    public async Task RequireCrdAsync()
    {
        try
        {
            await Api.ApiextensionsV1.ReadCustomResourceDefinitionAsync($"{HighAvailabilityGroup.Plural}.{HighAvailabilityGroup.Group}");
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new InvalidOperationException("the HighAvailabilityGroup CRD is not installed: kubectl apply -f crds/");
        }
    }

    /// <summary>Creates the namespace if needed (waiting out a previous one still terminating) and waits
    /// for its default ServiceAccount, without which the API server refuses pods.</summary>
    /// <param name="labels">for a namespace it creates (the benchmark marks its own, to clean them up)</param>
    public async Task EnsureNamespaceAsync(string ns, IDictionary<string, string>? labels = null, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        var limit = timeout ?? TimeSpan.FromMinutes(2);
        while (true)
        {
            V1Namespace? existing = null;
            try { existing = await Api.CoreV1.ReadNamespaceAsync(ns); }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { }
            if (existing is null)
            {
                try { await Api.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = ns, Labels = labels } }); }
                catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict) { continue; }
                break;
            }
            if (existing.Status?.Phase != "Terminating") break;
            if (deadline.Elapsed > limit) throw new TimeoutException($"namespace {ns} is still terminating after {limit.TotalSeconds:0} s");
            await Task.Delay(250);
        }
        while (true)
        {
            var accounts = await Api.CoreV1.ListNamespacedServiceAccountAsync(ns, fieldSelector: "metadata.name=default");
            if (accounts.Items.Count > 0) return;
            if (deadline.Elapsed > limit) throw new TimeoutException($"no default ServiceAccount in {ns} after {limit.TotalSeconds:0} s (is kube-controller-manager running?)");
            await Task.Delay(100);
        }
    }

    /// <summary>Deletes namespaces; with a wait, returns once they are gone (false if the wait ran out).</summary>
    public async Task<bool> DeleteNamespacesAsync(IEnumerable<string> names, TimeSpan wait)
    {
        var list = names.ToList();
        foreach (var ns in list)
        {
            try { await Api.CoreV1.DeleteNamespaceAsync(ns, new V1DeleteOptions { PropagationPolicy = "Background" }); }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { }
        }
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < wait)
        {
            var remaining = 0;
            foreach (var ns in list)
            {
                try { await Api.CoreV1.ReadNamespaceAsync(ns); remaining++; }
                catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { }
            }
            if (remaining == 0) return true;
            await Task.Delay(500);
        }
        return wait <= TimeSpan.Zero;
    }

    public async Task<V1Namespace?> ReadNamespaceAsync(string ns)
    {
        try { return await Api.CoreV1.ReadNamespaceAsync(ns); }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { return null; }
    }

    public static string MemberName(string group, int index) => $"{group}-{index}";

    /// <summary>Creates the group's member pods <c>group-0..n-1</c> (label app=group), Running and Ready with pod IPs.</summary>
    public static async Task CreateMembersAsync(KubeletStandIn kubelet, string group, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await Retry(() => kubelet.CreatePodAsync(MemberName(group, i), new Dictionary<string, string> { [FailoverTimeline.GroupLabel] = group }));
        }
    }

    public async Task CreateGroupAsync(string ns, string name, int? leaseSeconds = null)
    {
        var group = new HighAvailabilityGroup
        {
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
            Spec = new HighAvailabilityGroupSpec
            {
                Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { [FailoverTimeline.GroupLabel] = name } },
            },
        };
        if (leaseSeconds is { } seconds) group.Spec.LeaseDurationSeconds = seconds;
        await Retry(() => Api.CustomObjects.CreateNamespacedCustomObjectAsync(group, HighAvailabilityGroup.Group,
            HighAvailabilityGroup.Version, ns, HighAvailabilityGroup.Plural));
    }

    public async Task<HighAvailabilityGroup?> GetGroupAsync(string ns, string name)
    {
        try
        {
            var raw = await Api.CustomObjects.GetNamespacedCustomObjectAsync(HighAvailabilityGroup.Group, HighAvailabilityGroup.Version, ns, HighAvailabilityGroup.Plural, name);
            return ((JsonElement)raw).Deserialize<HighAvailabilityGroup>();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>The Service that routes to the group's active pod: selects app=group and role=active.</summary>
    public async Task CreateActiveServiceAsync(string ns, string name, string group)
    {
        await Api.CoreV1.CreateNamespacedServiceAsync(new V1Service
        {
            Metadata = new V1ObjectMeta { Name = name },
            Spec = new V1ServiceSpec
            {
                Selector = new Dictionary<string, string> { [FailoverTimeline.GroupLabel] = group, [FailoverTimeline.RoleLabel] = Roles.Active },
                Ports = [new V1ServicePort { Name = "http", Port = 80, TargetPort = 8080, Protocol = "TCP" }],
            },
        }, ns);
    }

    /// <summary>Retries transient API failures (timeouts, 429, 5xx) a few times.</summary>
    public static async Task<T> Retry<T>(Func<Task<T>> call, int attempts = 5)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Exception e) when (attempt < attempts && IsTransient(e))
            {
                await Task.Delay(200 * attempt);
            }
        }
    }

    private static bool IsTransient(Exception e) => e switch
    {
        HttpOperationException h => (int)h.Response.StatusCode is 429 or >= 500,
        TaskCanceledException or HttpRequestException or TimeoutException => true,
        _ => false,
    };

    public void Dispose()
    {
        (Api as IDisposable)?.Dispose();
        (Watches as IDisposable)?.Dispose();
    }
}
