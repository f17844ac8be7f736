using System.Collections.Concurrent;
using FailoverOperator.Failover;
using FailoverOperator.Runtime;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace FailoverOperator.Testing;

/// <summary>
/// Counts the writes that reach the API server for the groups of one namespace, as the watches deliver
/// them: every new resourceVersion of a Lease or a HighAvailabilityGroup (by name), of a pod (by its
/// group label value, <c>app</c>) and every Event about one of those. Whoever wrote them — operator,
/// agents, kubelet — counts: the figure is what a group costs the API server and etcd.
/// </summary>
public sealed class WriteCounter : IAsyncDisposable
{
    private readonly CancellationTokenSource stop = new();
    private readonly List<Task> loops = [];
    private readonly ConcurrentDictionary<string, int> counts = new();
    private readonly List<IInformer> informers = [];
    private volatile bool counting;

    private WriteCounter()
    {
    }

    public static async Task<WriteCounter> StartAsync(IKubernetes watchClient, string ns, string podGroupLabel = "app")
    {
        var counter = new WriteCounter();
        counter.Watch(new Informer<V1Lease, V1LeaseList>(ListWatch.For<V1Lease, V1LeaseList>(watchClient, ns), NullLogger.Instance, "leases"),
            l => l.Metadata.Name);
        counter.Watch(new Informer<HighAvailabilityGroup, CustomResourceList<HighAvailabilityGroup>>(
            ListWatch.For<HighAvailabilityGroup, CustomResourceList<HighAvailabilityGroup>>(watchClient, ns), NullLogger.Instance, "groups"),
            g => g.Metadata.Name);
        counter.Watch(new Informer<V1Pod, V1PodList>(ListWatch.For<V1Pod, V1PodList>(watchClient, ns), NullLogger.Instance, "pods"),
            p => p.Metadata.Labels?.TryGetValue(podGroupLabel, out var g) == true ? g : null);
        counter.Watch(new Informer<Corev1Event, Corev1EventList>(ListWatch.For<Corev1Event, Corev1EventList>(watchClient, ns), NullLogger.Instance, "events"),
            e => e.InvolvedObject?.Name is { } name ? $"{name}#{e.Reason}({e.Source?.Component ?? e.ReportingComponent})" : null);
        foreach (var informer in counter.informers) await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        return counter;
    }

    private void Watch<T, TList>(Informer<T, TList> informer, Func<T, string?> key)
        where T : class, IKubernetesObject<V1ObjectMeta>
        where TList : IItems<T>, IMetadata<V1ListMeta>
    {
        informer.Changed += (old, current) =>
        {
            if (!counting || current is null || old?.Metadata.ResourceVersion == current.Metadata.ResourceVersion) return;
            if (key(current) is { } k) counts.AddOrUpdate($"{typeof(T).Name}/{k}", 1, (_, n) => n + 1);
        };
        informers.Add(informer);
        loops.Add(Task.Run(() => informer.RunAsync(stop.Token)));
    }

    /// <summary>Counts from now on (what happened before is not counted).</summary>
    public void Start() => counting = true;

    public void Stop() => counting = false;

    /// <summary>Writes of <paramref name="group"/>: its Lease and object, its pods, Events about any of them (by the object's name prefix).</summary>
    public int WritesOf(string group) => Of(group).Sum(c => c.Value);

    private IEnumerable<KeyValuePair<string, int>> Of(string? group) =>
        counts.Where(c => group is null || (c.Key.Split('/', 2)[1].Split('#')[0] is var name && (name == group || name.StartsWith(group + "-", StringComparison.Ordinal))));

    /// <summary>KIND/NAME=COUNT (an Event: KIND/OBJECT#REASON(WRITER)) for every object written (of <paramref name="group"/> only, when given).</summary>
    public string Describe(string? group = null) =>
        Of(group).Any() ? string.Join(", ", Of(group).OrderBy(c => c.Key).Select(c => $"{c.Key}={c.Value}")) : "none";

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        try { await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(10)); } catch (Exception) { }
        stop.Dispose();
    }
}
