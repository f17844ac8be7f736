using System.Diagnostics;
using System.Net;
using FailoverOperator.Failover;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FailoverOperator.Testing;

/// <summary>
/// The API server connection and the fixtures the tests, the demo and the benchmark share: the CRD,
/// namespaces, member pods (created and brought to Running/Ready by the kubelet stand-in), groups, Leases
/// and the active's Service. Conventions: a group's member pods carry <c>app=&lt;group&gt;</c>.
/// </summary>
public sealed partial class Cluster : IDisposable
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

    /// <summary>Creates or replaces the CRD from crds/ and waits until it is Established.</summary>
    public static async Task InstallCrdAsync(IKubernetes client)
    {
        var crd = KubernetesYaml.Deserialize<V1CustomResourceDefinition>(
            await File.ReadAllTextAsync(RepoPaths.Of("crds", "failover.dev_highavailabilitygroups.yaml")));
        try
        {
            var existing = await client.ApiextensionsV1.ReadCustomResourceDefinitionAsync(crd.Metadata.Name);
            crd.Metadata.ResourceVersion = existing.Metadata.ResourceVersion;
            await client.ApiextensionsV1.ReplaceCustomResourceDefinitionAsync(crd, crd.Metadata.Name);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            await client.ApiextensionsV1.CreateCustomResourceDefinitionAsync(crd);
        }
        await Wait.UntilAsync(async () =>
        {
            var current = await client.ApiextensionsV1.ReadCustomResourceDefinitionAsync(crd.Metadata.Name);
            return current.Status?.Conditions?.Any(c => c.Type == "Established" && c.Status == "True") == true;
        }, TimeSpan.FromSeconds(30), "the HighAvailabilityGroup CRD to be Established");
    }

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
