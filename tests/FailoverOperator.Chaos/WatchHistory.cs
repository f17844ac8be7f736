using System.Collections.Concurrent;
using FailoverOperator.Failover;
using FailoverOperator.Runtime;
using FailoverOperator.Testing;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;

namespace FailoverOperator.Chaos;

/// <summary>A pod as the oracle needs it, at one watch event (Gone: deleted).</summary>
public sealed record PodRecord(DateTime At, string Name, string? Group, string? Role, bool Ready, bool Gone, string ResourceVersion);

/// <summary>A group Lease at one watch event: holder, leaseTransitions and the term of the failover record it carries.</summary>
public sealed record LeaseRecord(DateTime At, string Name, string? Holder, int Transitions, int? RecordTerm);

/// <summary>A group's status at one watch event.</summary>
public sealed record GroupRecord(DateTime At, string Name, string? ActivePod, int FailoverCount, int? LastTerm);

/// <summary>
/// Records every watch event of the run's namespace (pods, Leases, groups) with the operator's own
/// <see cref="Informer{T,TList}"/>, like <see cref="SplitBrainRecorder"/>. One namespace's pod watch
/// delivers events in the API server's commit order, so replaying the pod records replays states that
/// existed. The caches also tell the storm what each group looks like now.
/// </summary>
public sealed partial class WatchHistory : IAsyncDisposable
{
    [System.Text.RegularExpressions.GeneratedRegex(@", term (\d+)\)$")]
    private static partial System.Text.RegularExpressions.Regex PromotedTerm();

    private readonly Informer<V1Pod, V1PodList> pods;
    private readonly Informer<V1Lease, V1LeaseList> leases;
    private readonly Informer<HighAvailabilityGroup, CustomResourceList<HighAvailabilityGroup>> groups;
    private readonly Informer<Corev1Event, Corev1EventList> events;
    private readonly CancellationTokenSource stop = new();
    private readonly List<Task> loops;
    private readonly string ns;

    public ConcurrentQueue<PodRecord> Pods { get; } = new();
    public ConcurrentQueue<LeaseRecord> Leases { get; } = new();
    public ConcurrentQueue<GroupRecord> Groups { get; } = new();
    /// <summary>(group, term) of every failover a Promoted Event on a group announced: a failover superseded
    /// before any status carried it is recorded by its Events (and metric) instead.</summary>
    public ConcurrentDictionary<(string Group, int Term), bool> AnnouncedTerms { get; } = new();

    public WatchHistory(IKubernetes watchClient, string ns)
    {
        this.ns = ns;
        pods = new(ListWatch.For<V1Pod, V1PodList>(watchClient, ns), NullLogger.Instance, "chaos pods");
        leases = new(ListWatch.For<V1Lease, V1LeaseList>(watchClient, ns), NullLogger.Instance, "chaos leases");
        groups = new(ListWatch.For<HighAvailabilityGroup, CustomResourceList<HighAvailabilityGroup>>(watchClient, ns), NullLogger.Instance, "chaos groups");
        pods.Changed += (_, now) => { if (now is not null) Pods.Enqueue(Record(now, gone: false)); };
        leases.Changed += (_, now) => { if (now is not null) Leases.Enqueue(Record(now)); };
        groups.Changed += (_, now) => { if (now is not null) Groups.Enqueue(Record(now)); };
        events = new(ListWatch.For<Corev1Event, Corev1EventList>(watchClient, ns), NullLogger.Instance, "chaos events");
        events.Changed += (_, now) =>
        {
            if (now is { Reason: EventReasons.Promoted, InvolvedObject.Kind: HighAvailabilityGroup.KindName } && PromotedTerm().Match(now.Message ?? "") is { Success: true } m)
            {
                AnnouncedTerms[(now.InvolvedObject.Name, int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))] = true;
            }
        };
        // A deletion arrives as (old, null): the informer's handler signature gives the last state.
        pods.Changed += (old, now) => { if (now is null && old is not null) Pods.Enqueue(Record(old, gone: true)); };
        loops = [Task.Run(() => pods.RunAsync(stop.Token)), Task.Run(() => leases.RunAsync(stop.Token)), Task.Run(() => groups.RunAsync(stop.Token)),
            Task.Run(() => events.RunAsync(stop.Token))];
    }

    public async Task WaitForSyncAsync()
    {
        foreach (var informer in new IInformer[] { pods, leases, groups, events })
        {
            await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        }
    }

    /// <summary>The group's members now (pods labelled app=group, not being deleted).</summary>
    public IReadOnlyList<V1Pod> Members(string group) =>
        pods.List(ns).Where(p => p.GetLabel(Cluster.GroupLabel) == group && p.Metadata.DeletionTimestamp is null).ToList();

    public V1Lease? Lease(string name) => leases.Get(ns, name);

    public HighAvailabilityGroup? Group(string name) => groups.Get(ns, name);

    public static bool IsReady(V1Pod pod) =>
        pod.Status?.Phase == "Running" && pod.Status.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    private static PodRecord Record(V1Pod pod, bool gone) =>
        new(DateTime.UtcNow, pod.Metadata.Name, pod.GetLabel(Cluster.GroupLabel), pod.GetLabel(Cluster.RoleLabel),
            IsReady(pod) && pod.Metadata.DeletionTimestamp is null, gone, pod.Metadata.ResourceVersion);

    private static LeaseRecord Record(V1Lease lease) =>
        new(DateTime.UtcNow, lease.Metadata.Name, lease.Spec?.HolderIdentity, lease.Spec?.LeaseTransitions ?? 0, GroupLease.FailoverOf(lease)?.Term);

    private static GroupRecord Record(HighAvailabilityGroup group) =>
        new(DateTime.UtcNow, group.Metadata.Name, group.Status?.ActivePod, group.Status?.FailoverCount ?? 0, group.Status?.LastFailover?.Term);

    /// <summary>Every record in time order, one per line: what a finding's times are read against.</summary>
    public void WriteTo(string path) =>
        File.WriteAllLines(path, Pods.Select(r => (r.At, r.ToString())).Concat(Leases.Select(r => (r.At, r.ToString())))
            .Concat(Groups.Select(r => (r.At, r.ToString()))).OrderBy(x => x.At).Select(x => $"{x.At:HH:mm:ss.fff} {x.Item2}"));

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        try { await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(10)); } catch (Exception) { }
        stop.Dispose();
    }
}
