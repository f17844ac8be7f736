using System.Collections.Concurrent;
using k8s;
using k8s.Models;

namespace FailoverOperator.IntegrationTests.Infrastructure;

/// <summary>
/// Watches every pod of a test namespace and records each state in which two pods of one group
/// (pods sharing the group label) carried the active role at once. Watch events arrive in the
/// API server's commit order, so the states seen are the states that existed.
/// </summary>
public sealed class SplitBrainRecorder : IAsyncDisposable
{
    private readonly IKubernetes client;
    private readonly string ns;
    private readonly string groupLabel;
    private readonly string roleLabel;
    private readonly Dictionary<string, (string? Group, string? Role)> pods = [];
    private readonly ConcurrentQueue<string> violations = new();
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;
    private readonly TaskCompletionSource started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // While the list or watch keeps failing the recorder sees nothing, and its assertion must not pass for that.
    private volatile Exception? lastError;
    private DateTime? failingSince;

    public List<(DateTime At, string Pod, string? Role)> RoleHistory { get; } = [];

    private SplitBrainRecorder(IKubernetes client, string ns, string groupLabel, string roleLabel)
    {
        this.client = client;
        this.ns = ns;
        this.groupLabel = groupLabel;
        this.roleLabel = roleLabel;
        loop = Task.Run(RunAsync);
    }

    public static async Task<SplitBrainRecorder> StartAsync(IKubernetes client, string ns, string groupLabel = "app", string roleLabel = "failover.dev/role")
    {
        var recorder = new SplitBrainRecorder(client, ns, groupLabel, roleLabel);
        try
        {
            await recorder.started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            await recorder.DisposeAsync();
            throw new TimeoutException($"the split-brain recorder could not list pods in {ns} within 30 s: {recorder.lastError?.Message ?? "no response"}");
        }
        return recorder;
    }

    /// <summary>Fails the test if two pods of a group were ever active together.</summary>
    public void AssertNeverTwoActives()
    {
        Assert.True(violations.IsEmpty, "split brain observed:\n" + string.Join('\n', violations));
        var since = failingSince;
        Assert.False(since is { } s && DateTime.UtcNow - s > TimeSpan.FromSeconds(10),
            $"the split-brain recorder has not been able to watch pods since {since:HH:mm:ss.fff} (so it saw nothing): {lastError?.Message}");
    }

    private async Task RunAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var list = await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: stop.Token);
                failingSince = null;
                lock (pods)
                {
                    pods.Clear();
                    foreach (var pod in list.Items) Observe(WatchEventType.Added, pod);
                }
                started.TrySetResult();
#pragma warning disable CS0618
                var watch = client.CoreV1.ListNamespacedPodWithHttpMessagesAsync(ns, resourceVersion: list.Metadata.ResourceVersion,
                    watch: true, allowWatchBookmarks: true, cancellationToken: stop.Token).WatchAsync<V1Pod, V1PodList>(_ => { }, stop.Token);
#pragma warning restore CS0618
                await foreach (var (type, pod) in watch)
                {
                    lock (pods) Observe(type, pod);
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The API server may be restarted by a test: list again (a re-list can only miss a
                // transient state, never invent one).
                lastError = e;
                failingSince ??= DateTime.UtcNow;
                try { await Task.Delay(100, stop.Token); } catch (OperationCanceledException) { return; }
            }
        }
    }

    private void Observe(WatchEventType type, V1Pod pod)
    {
        if (type == WatchEventType.Bookmark || type == WatchEventType.Error) return;
        var name = pod.Metadata.Name;
        if (type == WatchEventType.Deleted)
        {
            pods.Remove(name);
            return;
        }
        var labels = pod.Metadata.Labels ?? new Dictionary<string, string>();
        var role = labels.TryGetValue(roleLabel, out var r) ? r : null;
        var group = labels.TryGetValue(groupLabel, out var g) ? g : null;
        if (!pods.TryGetValue(name, out var previous) || previous.Role != role) RoleHistory.Add((DateTime.UtcNow, name, role));
        pods[name] = (group, role);
        var actives = pods.Where(p => p.Value.Role == "active" && p.Value.Group is not null)
            .GroupBy(p => p.Value.Group).Where(grp => grp.Count() > 1);
        foreach (var grp in actives)
        {
            violations.Enqueue($"resourceVersion {pod.Metadata.ResourceVersion}: group {grp.Key} has active pods {string.Join(", ", grp.Select(p => p.Key))}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        stop.Cancel();
        try { await loop.WaitAsync(TimeSpan.FromSeconds(10)); } catch (Exception) { }
        stop.Dispose();
    }
}
