using System.Collections.Concurrent;
using System.Net;
using FailoverOperator.Failover;
using FailoverOperator.Testing;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FailoverOperator.Chaos;

/// <summary>How the storm makes an active pod fail.</summary>
public enum FailureKind { NotReady, ContainerRestart, PodFailed, GracefulDelete, ForceDelete, ForeignHolder }

/// <summary>
/// The groups and their stand-in pods, and every write the storm makes to them: failures as a kubelet
/// reports them, deletions followed by a replacement as a ReplicaSet creates it, recoveries, and foreign
/// writes. Writes are retried through API server restarts (<see cref="Cluster.Retry{T}"/>, about a minute).
/// </summary>
public sealed class Fleet(Cluster cluster, KubeletStandIn kubelet, WatchHistory history, string ns)
{
    /// <summary>The Lease holder a foreign write names when it hands the Lease to "someone else".</summary>
    public const string Stranger = "someone-else";
    private const int Attempts = 20;

    private readonly ConcurrentDictionary<string, int> nextIndex = new();

    public List<string> GroupNames { get; } = [];

    public async Task CreateAsync(int groups, int minPods, int maxPods, Random random)
    {
        for (var g = 0; g < groups; g++)
        {
            var name = $"chaos-{g:00}";
            var pods = random.Next(minPods, maxPods + 1);
            await Cluster.CreateMembersAsync(kubelet, name, pods);
            nextIndex[name] = pods;
            await cluster.CreateGroupAsync(ns, name);
            GroupNames.Add(name);
        }
    }

    /// <summary>Makes <paramref name="pod"/> fail as <paramref name="kind"/> says; returns the resourceVersion of a foreign write (else null).</summary>
    public async Task<string?> FailAsync(string group, string pod, FailureKind kind)
    {
        switch (kind)
        {
            case FailureKind.NotReady: await Retry(() => kubelet.SetReadyAsync(pod, false)); return null;
            case FailureKind.ContainerRestart: await Retry(() => kubelet.RestartContainerAsync(pod)); return null;
            case FailureKind.PodFailed: await Retry(() => kubelet.SetFailedAsync(pod)); return null;
            case FailureKind.GracefulDelete: await DeleteAsync(group, pod, graceSeconds: 30); return null;
            case FailureKind.ForceDelete: await DeleteAsync(group, pod, graceSeconds: 0); return null;
            case FailureKind.ForeignHolder: return await SetHolderAsync(group, Stranger);
            default: throw new ArgumentOutOfRangeException(nameof(kind));
        }
    }

    /// <summary>What a kubelet (and a ReplicaSet, for a Failed pod) do after a failure: the pod is Ready again, or replaced.</summary>
    public async Task RecoverAsync(string group, string pod, FailureKind kind)
    {
        switch (kind)
        {
            case FailureKind.NotReady or FailureKind.ContainerRestart: await Retry(() => kubelet.SetReadyAsync(pod, true)); break;
            case FailureKind.PodFailed: await DeleteAsync(group, pod, graceSeconds: 0); break;
            case FailureKind.GracefulDelete: await ConfirmDeletionAsync(pod); break;
        }
    }

    /// <summary>A deletion, and the replacement a ReplicaSet creates at once (not Ready yet: <see cref="StartReplacementAsync"/>).</summary>
    private async Task DeleteAsync(string group, string pod, int graceSeconds)
    {
        await IgnoreNotFound(() => cluster.Api.CoreV1.DeleteNamespacedPodAsync(pod, ns, gracePeriodSeconds: graceSeconds));
        var replacement = Cluster.MemberName(group, nextIndex.AddOrUpdate(group, 0, (_, n) => n + 1));
        await Retry(() => kubelet.CreatePodAsync(replacement, new Dictionary<string, string> { [Cluster.GroupLabel] = group }, ready: false));
        Replacements.Enqueue(replacement);
    }

    /// <summary>Replacement pods created and not yet started; the storm starts them after a pause.</summary>
    public ConcurrentQueue<string> Replacements { get; } = new();

    public Task StartReplacementAsync(string pod) => Retry(() => kubelet.SetReadyAsync(pod, true));

    /// <summary>The kubelet's half of a graceful deletion: the container stopped, the pod object goes (grace 0).</summary>
    private Task ConfirmDeletionAsync(string pod) =>
        IgnoreNotFound(() => cluster.Api.CoreV1.DeleteNamespacedPodAsync(pod, ns, gracePeriodSeconds: 0));

    /// <summary>A foreign write to a pod's role label (as kubectl label --overwrite would); returns the new resourceVersion.</summary>
    public async Task<string> SetRoleAsync(string pod, string role)
    {
        var patch = new V1Patch(new { metadata = new { labels = new Dictionary<string, string> { [Cluster.RoleLabel] = role } } }, V1Patch.PatchType.MergePatch);
        var written = await Retry(() => cluster.Api.CoreV1.PatchNamespacedPodAsync(patch, pod, ns));
        return written.Metadata.ResourceVersion;
    }

    /// <summary>A foreign write to the group's Lease: someone else names the holder (leaseTransitions untouched, as kubectl patch would).</summary>
    public async Task<string> SetHolderAsync(string group, string holder)
    {
        var patch = new V1Patch(new { spec = new { holderIdentity = holder } }, V1Patch.PatchType.MergePatch);
        var written = await Retry(() => cluster.Api.CoordinationV1.PatchNamespacedLeaseAsync(patch, group, ns));
        return written.Metadata.ResourceVersion;
    }

    /// <summary>After the storm: every member Ready (a kubelet recovered them all), deletions confirmed.</summary>
    public async Task HealAllAsync()
    {
        var pods = await Retry(() => cluster.Api.CoreV1.ListNamespacedPodAsync(ns, labelSelector: Cluster.GroupLabel));
        foreach (var pod in pods.Items)
        {
            var name = pod.Metadata.Name;
            if (pod.Metadata.DeletionTimestamp is not null) await ConfirmDeletionAsync(name);
            else if (pod.Status?.Phase == "Failed") await DeleteAsync(pod.GetLabel(Cluster.GroupLabel), name, graceSeconds: 0);
            else if (!WatchHistory.IsReady(pod)) await StartReplacementAsync(name);
        }
        while (Replacements.TryDequeue(out var pod)) await StartReplacementAsync(pod);
    }

    /// <summary>The pod labelled active and holding the Lease, with at least one other Ready member: a group the storm may fail.</summary>
    public (string Active, List<string> Standbys)? Healthy(string group)
    {
        var holder = history.Lease(group)?.Spec?.HolderIdentity;
        var members = history.Members(group);
        var active = members.FirstOrDefault(p => p.Metadata.Name == holder);
        if (active is null || !WatchHistory.IsReady(active) || active.GetLabel(Cluster.RoleLabel) != Roles.Active) return null;
        var standbys = members.Where(p => p != active && WatchHistory.IsReady(p) && p.GetLabel(Cluster.RoleLabel) == Roles.Standby)
            .Select(p => p.Metadata.Name).ToList();
        return standbys.Count == 0 ? null : (active.Metadata.Name, standbys);
    }

    private static Task<T> Retry<T>(Func<Task<T>> call) => Cluster.Retry(call, Attempts);

    private static async Task IgnoreNotFound(Func<Task<V1Pod>> delete)
    {
        try { await Retry(delete); }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound) { }
    }
}
