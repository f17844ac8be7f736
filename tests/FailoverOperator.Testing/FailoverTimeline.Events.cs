using System.Diagnostics;
using FailoverOperator.Failover;
using FailoverOperator.Runtime;
using k8s;
using k8s.Models;

namespace FailoverOperator.Testing;

public sealed partial class FailoverTimeline
{
    /// <summary>Starts one kind's watch loop; the task completes once its watch is established.</summary>
    private Task Watch<T, TList>(string kind, ListWatch<T, TList> source)
        where T : class, IKubernetesObject<V1ObjectMeta>
        where TList : IItems<T>, IMetadata<V1ListMeta>
    {
        var established = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        loops.Add(Task.Run(() => WatchLoopAsync(kind, source, established)));
        return established.Task;
    }

    private async Task WatchLoopAsync<T, TList>(string kind, ListWatch<T, TList> source, TaskCompletionSource established)
        where T : class, IKubernetesObject<V1ObjectMeta>
        where TList : IItems<T>, IMetadata<V1ListMeta>
    {
        var ct = stop.Token;
        string? resourceVersion = null;
        var failures = 0;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (resourceVersion is null)
                {
                    var (items, listVersion) = await source.ListAsync(ct);
                    var listed = Stopwatch.GetTimestamp();
                    lock (gate)
                    {
                        Reset(kind);
                        foreach (var item in items) Apply(WatchEventType.Added, item, listed);
                    }
                    resourceVersion = listVersion;
                }
                // The API server registers the watch before it sends the response headers, which is when
                // ResponseClock reports (the stream itself yields only with the first event). The request
                // starts when WatchAsync is called, so the observer is set around that call.
                var gone = false;
                ResponseClock.Observer.Value = _ => established.TrySetResult();
                var events = source.WatchAsync(resourceVersion, 3600, e => gone |= ApiErrors.IsGone(e), ct);
                ResponseClock.Observer.Value = null;
                await foreach (var (type, obj) in events)
                {
                    established.TrySetResult();
                    var arrived = Stopwatch.GetTimestamp();
                    failures = 0;
                    if (obj?.Metadata?.ResourceVersion is { Length: > 0 } rv) resourceVersion = rv;
                    if (type is WatchEventType.Added or WatchEventType.Modified or WatchEventType.Deleted && obj is not null)
                    {
                        lock (gate) Apply(type, obj, arrived);
                    }
                }
                if (gone) resourceVersion = null;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (ApiErrors.IsGone(e))
            {
                resourceVersion = null;
            }
            catch (Exception e)
            {
                if (++failures % 10 == 1) Console.Error.WriteLine($"  (timeline {Namespace}/{kind}: watch failed, retrying: {e.Message})");
                try { await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, 100 * failures)), ct); } catch (OperationCanceledException) { return; }
            }
        }
    }

    private void Reset(string kind)
    {
        switch (kind)
        {
            case "pods": pods.Clear(); break;
            case "leases": leaseHolders.Clear(); break;
            case "groups": groups.Clear(); break;
            case "endpoints": endpoints.Clear(); break;
        }
    }

    /// <summary>Updates the state with one event (under the lock), then advances pending failovers and waiters.</summary>
    private void Apply(WatchEventType type, IKubernetesObject<V1ObjectMeta> obj, long arrived)
    {
        var name = obj.Metadata.Name;
        var deleted = type == WatchEventType.Deleted;
        switch (obj)
        {
            case V1Pod pod:
            {
                if (deleted) pods.Remove(name);
                else pods[name] = PodView.Of(pod);
                var group = pod.GetLabel(Cluster.GroupLabel);
                if (group is not null && pendingByGroup.TryGetValue(group, out var list))
                {
                    foreach (var f in list.ToList()) f.OnPod(deleted ? null : pods[name], name, arrived);
                }
                break;
            }
            case V1Lease lease:
            {
                var holder = deleted ? null : lease.Spec?.HolderIdentity;
                if (deleted) leaseHolders.Remove(name);
                else leaseHolders[name] = holder;
                if (pendingByGroup.TryGetValue(name, out var list))
                {
                    foreach (var f in list.ToList()) f.OnLease(holder, arrived);
                }
                break;
            }
            case HighAvailabilityGroup group:
                if (deleted) groups.Remove(name);
                else groups[name] = new GroupView(name, group.Status?.Phase, group.Status?.ActivePod, group.Status?.ReadyStandbys ?? 0, group.Status?.FailoverCount ?? 0);
                break;
            case V1Endpoints ep:
            {
                var view = deleted ? EndpointsView.Empty : EndpointsView.Of(ep);
                endpoints[name] = view;
                if (pendingByService.TryGetValue(name, out var list))
                {
                    foreach (var f in list.ToList()) f.OnEndpoints(view, arrived);
                }
                break;
            }
        }
        for (var i = waiters.Count - 1; i >= 0; i--)
        {
            var w = waiters[i];
            bool done;
            try { done = w.Condition(); }
            catch (Exception e) { w.Done.TrySetException(e); waiters.RemoveAt(i); continue; }
            if (done)
            {
                w.Done.TrySetResult(arrived);
                waiters.RemoveAt(i);
            }
        }
    }

}
