using System.Collections.Concurrent;
using FailoverOperator.Failover;
using FailoverOperator.Runtime;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace FailoverOperator.Testing;

/// <summary>
/// Watches every pod of a namespace with the operator's own <see cref="Informer{T,TList}"/> and records
/// each state in which more pods of one group (pods sharing the group label) carried the active role at
/// once than the group may have: one, or the N a test allows for a group with spec.activeCount N
/// (<see cref="AllowActives"/>). Watch events arrive in the API server's commit order, so the states seen
/// are states that existed.
/// </summary>
public sealed class SplitBrainRecorder : IAsyncDisposable
{
    private readonly IKubernetes client;
    private readonly string ns;
    private readonly Informer<V1Pod, V1PodList> pods;
    private readonly LastWarning lastWarning = new();
    private readonly ConcurrentQueue<string> violations = new();
    private readonly ConcurrentDictionary<string, int> allowed = new();
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;

    /// <summary>Each change of a pod's role label, in the order the watch delivered them.</summary>
    public ConcurrentQueue<(DateTime At, string Pod, string? Role)> RoleHistory { get; } = new();

    private SplitBrainRecorder(IKubernetes watchClient, string ns)
    {
        client = watchClient;
        this.ns = ns;
        pods = new Informer<V1Pod, V1PodList>(ListWatch.For<V1Pod, V1PodList>(watchClient, ns), lastWarning, $"pods in {ns}");
        pods.Changed += OnChanged;
        loop = Task.Run(() => pods.RunAsync(stop.Token));
    }

    /// <summary>
    /// How many pods labelled group=<paramref name="group"/> may carry the active role at once (default 1). Raise it before
    /// the group's spec.activeCount is raised; lower it only once the group has converged on the lower count (the operator
    /// demotes the extra actives after the spec changed, so the lower bound holds from then on).
    /// </summary>
    public void AllowActives(string group, int count) => allowed[group] = count;

    /// <param name="watchClient">a client without a request timeout (a timeout would cut the watch)</param>
    public static async Task<SplitBrainRecorder> StartAsync(IKubernetes watchClient, string ns)
    {
        var recorder = new SplitBrainRecorder(watchClient, ns);
        try
        {
            await recorder.pods.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            await recorder.DisposeAsync();
            throw new TimeoutException($"the split-brain recorder could not list pods in {ns} within 30 s: {recorder.lastWarning.Message ?? "no response"}");
        }
        return recorder;
    }

    /// <summary>
    /// What went wrong, or null: a split brain seen, or a recorder that stopped seeing. The latter is
    /// judged by whether its cache catches up with a fresh list within 10 s (a recorder whose watch keeps
    /// failing would pass for seeing no split brain).
    /// </summary>
    public async Task<string?> ProblemAsync()
    {
        if (!violations.IsEmpty) return "split brain observed:\n" + string.Join('\n', violations);
        try
        {
            await Wait.UntilAsync(async () => CaughtUp(await client.CoreV1.ListNamespacedPodAsync(ns)), TimeSpan.FromSeconds(10),
                "the split-brain recorder to see the pods as they are");
            return null;
        }
        catch (TimeoutException e)
        {
            return $"the split-brain recorder fell behind (so it may have missed a state): {e.Message}; its last warning: {lastWarning.Message}";
        }
    }

    private bool CaughtUp(V1PodList listed) =>
        listed.Items.Count == pods.List().Count() &&
        listed.Items.All(p => pods.Get(ns, p.Metadata.Name)?.Metadata.ResourceVersion == p.Metadata.ResourceVersion);

    // Runs on the informer's one watch loop, after its cache took the change: events come one at a time.
    private void OnChanged(V1Pod? old, V1Pod? current)
    {
        var role = current?.GetLabel(Cluster.RoleLabel);
        if (current is not null && old?.GetLabel(Cluster.RoleLabel) != role)
        {
            RoleHistory.Enqueue((DateTime.UtcNow, current.Metadata.Name, role));
        }
        var group = current?.GetLabel(Cluster.GroupLabel);
        if (role != Roles.Active || group is null) return;
        var actives = pods.List().Where(p => p.GetLabel(Cluster.GroupLabel) == group && p.GetLabel(Cluster.RoleLabel) == Roles.Active).ToList();
        var limit = allowed.GetValueOrDefault(group, 1);
        if (actives.Count > limit)
        {
            violations.Enqueue($"resourceVersion {current!.Metadata.ResourceVersion}: group {group} (at most {limit} active) has active pods " +
                               string.Join(", ", actives.Select(p => p.Metadata.Name)));
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        try { await loop.WaitAsync(TimeSpan.FromSeconds(10)); } catch (Exception) { }
        stop.Dispose();
    }

    /// <summary>Keeps the informer's last warning (a failed list or watch), for the report.</summary>
    private sealed class LastWarning : ILogger
    {
        public string? Message { get; private set; }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) Message = $"{DateTime.UtcNow:HH:mm:ss.fff} {formatter(state, exception)}";
        }
    }
}
