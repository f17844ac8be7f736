using System.Diagnostics;
using System.Net;
using System.Text;
using FailoverOperator.Failover;
using FailoverOperator.Runtime;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FailoverBench;

/// <summary>
/// The one failover measurement, used by both the demo and the benchmark. It watches one namespace's
/// pods, Leases, HighAvailabilityGroups and (optionally) Endpoints, keeps their current state, and
/// stamps every event with <see cref="Stopwatch.GetTimestamp"/> the moment it arrives. The watches are
/// established (response headers received, so the API server has registered them) before
/// <see cref="StartAsync"/> returns, i.e. before any failure is injected.
///
/// A failover is measured by <see cref="FailAsync"/>: it registers what to look for, writes the failure,
/// and yields, from the moment the API server acknowledged that write: the Lease holder changed → another
/// pod of the group labelled active → the Service's Endpoints list only the new active's IP.
///
/// Conventions: a group's member pods carry <c>app=&lt;group&gt;</c>; its Lease has the group's name.
/// </summary>
public sealed class FailoverTimeline : IAsyncDisposable
{
    public const string GroupLabel = "app";
    public const string RoleLabel = HighAvailabilityGroupSpec.DefaultRoleLabelKey;

    private readonly object gate = new();
    private readonly Dictionary<string, PodView> pods = [];
    private readonly Dictionary<string, string?> leaseHolders = [];
    private readonly Dictionary<string, EndpointsView> endpoints = [];
    private readonly Dictionary<string, GroupView> groups = [];
    private readonly Dictionary<string, List<Failover>> pendingByGroup = [];
    private readonly Dictionary<string, List<Failover>> pendingByService = [];
    private readonly List<Waiter> waiters = [];
    private readonly CancellationTokenSource stop = new();
    private readonly List<Task> loops = [];
    private readonly IKubernetes client;

    public string Namespace { get; }

    private FailoverTimeline(IKubernetes watchClient, string ns)
    {
        client = watchClient;
        Namespace = ns;
    }

    /// <summary>Lists and watches the namespace; returns once every watch is established.</summary>
    /// <param name="watchClient">a client without a request timeout (a timeout would cut the watches)</param>
    public static async Task<FailoverTimeline> StartAsync(IKubernetes watchClient, string ns, bool watchEndpoints, TimeSpan? timeout = null)
    {
        var timeline = new FailoverTimeline(watchClient, ns);
        var c = watchClient;
        var established = new List<Task>
        {
            timeline.Watch<V1Pod, V1PodList>("pods", (r, ct) => c.CoreV1.ListNamespacedPodWithHttpMessagesAsync(ns,
                allowWatchBookmarks: r.AllowWatchBookmarks, continueParameter: r.Continue, limit: r.Limit,
                resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch, cancellationToken: ct)),
            timeline.Watch<V1Lease, V1LeaseList>("leases", (r, ct) => c.CoordinationV1.ListNamespacedLeaseWithHttpMessagesAsync(ns,
                allowWatchBookmarks: r.AllowWatchBookmarks, continueParameter: r.Continue, limit: r.Limit,
                resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch, cancellationToken: ct)),
            timeline.Watch<HighAvailabilityGroup, CustomResourceList<HighAvailabilityGroup>>("groups", (r, ct) =>
                c.CustomObjects.ListNamespacedCustomObjectWithHttpMessagesAsync<CustomResourceList<HighAvailabilityGroup>>(
                    HighAvailabilityGroup.Group, HighAvailabilityGroup.Version, ns, HighAvailabilityGroup.Plural,
                    allowWatchBookmarks: r.AllowWatchBookmarks, continueParameter: r.Continue, limit: r.Limit,
                    resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch, cancellationToken: ct)),
        };
        if (watchEndpoints)
        {
            established.Add(timeline.Watch<V1Endpoints, V1EndpointsList>("endpoints", (r, ct) => c.CoreV1.ListNamespacedEndpointsWithHttpMessagesAsync(ns,
                allowWatchBookmarks: r.AllowWatchBookmarks, continueParameter: r.Continue, limit: r.Limit,
                resourceVersion: r.ResourceVersion, timeoutSeconds: r.TimeoutSeconds, watch: r.Watch, cancellationToken: ct)));
        }
        try
        {
            await Task.WhenAll(established).WaitAsync(timeout ?? TimeSpan.FromSeconds(60));
        }
        catch
        {
            await timeline.DisposeAsync();
            throw;
        }
        return timeline;
    }

    // ---- state (callable from conditions passed to WaitAsync, which run under the same lock) ----

    /// <summary>Member pods of a group (label app=group), by name.</summary>
    public IReadOnlyList<PodView> PodsOf(string group)
    {
        lock (gate) return pods.Values.Where(p => p.Group == group).OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
    }

    public PodView? Pod(string name)
    {
        lock (gate) return pods.GetValueOrDefault(name);
    }

    /// <summary>The single pod of the group labelled active, or null (none or several).</summary>
    public string? ActiveOf(string group)
    {
        lock (gate)
        {
            var actives = pods.Values.Where(p => p.Group == group && p.Role == Roles.Active).Take(2).ToList();
            return actives.Count == 1 ? actives[0].Name : null;
        }
    }

    public string? LeaseHolder(string group)
    {
        lock (gate) return leaseHolders.GetValueOrDefault(group);
    }

    public GroupView? Group(string group)
    {
        lock (gate) return groups.GetValueOrDefault(group);
    }

    public EndpointsView? Endpoints(string service)
    {
        lock (gate) return endpoints.GetValueOrDefault(service);
    }

    public int CountGroups(Func<GroupView, bool> predicate)
    {
        lock (gate) return groups.Values.Count(predicate);
    }

    /// <summary>
    /// The group is at rest: all members Running and Ready, exactly one active and the rest standby, the
    /// Lease held by the active, status Healthy naming it with every other member a ready standby, and
    /// (with a Service) its Endpoints listing the active's IP only.
    /// </summary>
    public bool IsSteady(string group, int members, string? service)
    {
        lock (gate)
        {
            var members_ = pods.Values.Where(p => p.Group == group).ToList();
            if (members_.Count != members || members_.Any(p => !p.Ready)) return false;
            var active = members_.Where(p => p.Role == Roles.Active).ToList();
            if (active.Count != 1 || members_.Count(p => p.Role == Roles.Standby) != members - 1) return false;
            if (leaseHolders.GetValueOrDefault(group) != active[0].Name) return false;
            if (groups.GetValueOrDefault(group) is not { Phase: GroupPhase.Healthy } g || g.ActivePod != active[0].Name || g.ReadyStandbys != members - 1) return false;
            return service is null || endpoints.GetValueOrDefault(service) is { } e && e.ListsOnly(active[0].Ip);
        }
    }

    /// <summary>
    /// Waits until <paramref name="condition"/> holds; it is evaluated at once and after every event.
    /// Returns the arrival timestamp of the event that made it true (now, if it already held).
    /// </summary>
    public async Task<long> WaitAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var waiter = new Waiter(condition);
        lock (gate)
        {
            if (condition()) return Stopwatch.GetTimestamp();
            waiters.Add(waiter);
        }
        try
        {
            return await waiter.Done.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"timed out after {timeout.TotalSeconds:0.#} s waiting for {what} in namespace {Namespace}; state: {Describe()}");
        }
        finally
        {
            lock (gate) waiters.Remove(waiter);
        }
    }

    /// <summary>
    /// Measures one failover: registers it, then runs <paramref name="writeFailure"/> (what fails
    /// <paramref name="failingPod"/>: a status write, or a command that breaks a probe), stamping when it
    /// started and when it was acknowledged (an API write's response headers arrived, see
    /// <see cref="ResponseClock"/>; otherwise when it returned). The returned
    /// failover completes once the Lease moved, another member is labelled active and (with a Service)
    /// the Endpoints list only that member.
    /// </summary>
    public async Task<Failover> FailAsync(string group, string failingPod, string? service, Func<Task> writeFailure)
    {
        var failover = new Failover(this, group, failingPod, service);
        lock (gate)
        {
            Add(pendingByGroup, group, failover);
            if (service is not null) Add(pendingByService, service, failover);
        }
        (long Sent, long Acked) write;
        try
        {
            write = await ResponseClock.TimeAsync(writeFailure);
        }
        catch
        {
            Forget(failover);
            throw;
        }
        lock (gate)
        {
            failover.Sent = write.Sent;
            failover.Acked = write.Acked;
            failover.Check();
        }
        return failover;
    }

    private static void Add(Dictionary<string, List<Failover>> index, string key, Failover f)
    {
        if (!index.TryGetValue(key, out var list)) index[key] = list = [];
        list.Add(f);
    }

    private void Forget(Failover f)
    {
        lock (gate)
        {
            if (pendingByGroup.TryGetValue(f.Group, out var g)) g.Remove(f);
            if (f.Service is not null && pendingByService.TryGetValue(f.Service, out var s)) s.Remove(f);
        }
    }

    public string Describe()
    {
        lock (gate)
        {
            var sb = new StringBuilder();
            foreach (var g in pods.Values.GroupBy(p => p.Group).OrderBy(g => g.Key).Take(5))
            {
                sb.Append($"[group {g.Key}: lease holder {leaseHolders.GetValueOrDefault(g.Key ?? "") ?? "-"}; ");
                sb.Append(groups.GetValueOrDefault(g.Key ?? "") is { } gv ? $"status {gv.Phase}/{gv.ActivePod}/{gv.ReadyStandbys} standbys; " : "no status; ");
                sb.Append(string.Join(", ", g.Select(p => $"{p.Name} {(p.Ready ? "Ready" : "NotReady")} role={p.Role ?? "-"} ip={p.Ip}")));
                sb.Append("] ");
            }
            foreach (var (name, e) in endpoints) sb.Append($"[endpoints {name}: ready {string.Join(",", e.Ready)} notReady {string.Join(",", e.NotReady)}] ");
            return sb.ToString();
        }
    }

    // ---- watches ----

    private Task Watch<T, TList>(string kind, ListCall<TList> call)
        where T : class, IKubernetesObject<V1ObjectMeta>
        where TList : IItems<T>, IMetadata<V1ListMeta>
    {
        var established = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        loops.Add(Task.Run(() => WatchLoopAsync(kind, new ListWatch<T, TList>(call), established)));
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
                var group = pod.GetLabel(GroupLabel);
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

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        try { await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(5)); } catch (Exception) { }
        stop.Dispose();
    }

    private sealed class Waiter(Func<bool> condition)
    {
        public Func<bool> Condition { get; } = condition;
        public TaskCompletionSource<long> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>One failover being measured. Its methods run under the timeline's lock.</summary>
    public sealed class Failover
    {
        private readonly FailoverTimeline timeline;
        private readonly List<(long At, EndpointsView View)> endpointHistory = [];
        private readonly TaskCompletionSource<FailoverResult> done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        internal Failover(FailoverTimeline timeline, string group, string failedPod, string? service)
        {
            this.timeline = timeline;
            Group = group;
            FailedPod = failedPod;
            Service = service;
        }

        public string Group { get; }
        public string FailedPod { get; }
        public string? Service { get; }
        public long Sent { get; internal set; }
        public long Acked { get; internal set; }
        public long? FailureObserved { get; private set; }
        public long? LeaseMoved { get; private set; }
        public string? NewHolder { get; private set; }
        public long? Labelled { get; private set; }
        public string? NewActive { get; private set; }
        public long? EndpointsSwitched { get; private set; }

        /// <summary>Waits for completion; on timeout, says which milestone is missing.</summary>
        public async Task<FailoverResult> WaitAsync(TimeSpan timeout)
        {
            try
            {
                return await done.Task.WaitAsync(timeout);
            }
            catch (TimeoutException)
            {
                timeline.Forget(this);
                var missing = LeaseMoved is null ? "the Lease to move" : Labelled is null ? "a new active to be labelled" : "the Endpoints to list only the new active";
                throw new TimeoutException($"failover of {Group} (failed {FailedPod}) incomplete after {timeout.TotalSeconds:0.#} s: waiting for {missing}; state: {timeline.Describe()}");
            }
        }

        internal void OnPod(PodView? pod, string name, long at)
        {
            if (pod is null) return;
            if (name == FailedPod && FailureObserved is null && !pod.Ready) FailureObserved = at;
            if (name != FailedPod && Labelled is null && pod.Role == Roles.Active)
            {
                Labelled = at;
                NewActive = name;
            }
            Check();
        }

        internal void OnLease(string? holder, long at)
        {
            if (LeaseMoved is null && !string.IsNullOrEmpty(holder) && holder != FailedPod)
            {
                LeaseMoved = at;
                NewHolder = holder;
            }
            Check();
        }

        internal void OnEndpoints(EndpointsView view, long at)
        {
            endpointHistory.Add((at, view));
            Check();
        }

        internal void Check()
        {
            if (Acked == 0 || LeaseMoved is null || Labelled is null || done.Task.IsCompleted) return;
            if (Service is not null && EndpointsSwitched is null)
            {
                // The Endpoints watch is a separate stream: its switch may arrive before the label event,
                // so the history is kept and searched once the new active (and so its IP) is known.
                var ip = timeline.pods.GetValueOrDefault(NewActive!)?.Ip;
                foreach (var (when, view) in endpointHistory)
                {
                    if (view.ListsOnly(ip))
                    {
                        EndpointsSwitched = when;
                        break;
                    }
                }
                if (EndpointsSwitched is null) return;
            }
            timeline.Forget(this);
            done.TrySetResult(new FailoverResult(Group, FailedPod, NewActive!, NewHolder!, Sent, Acked, FailureObserved, LeaseMoved.Value, Labelled.Value, EndpointsSwitched));
        }
    }
}

/// <summary>A pod as the timeline sees it.</summary>
public sealed record PodView(string Name, string? Group, string? Role, string? Ip, bool Ready, int Restarts)
{
    public static PodView Of(V1Pod pod) => new(
        pod.Metadata.Name,
        pod.GetLabel(FailoverTimeline.GroupLabel),
        pod.GetLabel(FailoverTimeline.RoleLabel),
        pod.Status?.PodIP,
        pod.Metadata.DeletionTimestamp is null && pod.Status?.Phase == "Running"
            && pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true,
        pod.Status?.ContainerStatuses?.Sum(c => c.RestartCount) ?? 0);
}

public sealed record GroupView(string Name, string? Phase, string? ActivePod, int ReadyStandbys, int FailoverCount);

public sealed record EndpointsView(IReadOnlySet<string> Ready, IReadOnlySet<string> NotReady)
{
    public static readonly EndpointsView Empty = new(new HashSet<string>(), new HashSet<string>());

    public static EndpointsView Of(V1Endpoints e) => new(
        (e.Subsets ?? []).SelectMany(s => s.Addresses ?? []).Select(a => a.Ip).ToHashSet(),
        (e.Subsets ?? []).SelectMany(s => s.NotReadyAddresses ?? []).Select(a => a.Ip).ToHashSet());

    /// <summary>Exactly <paramref name="ip"/> is ready, and nothing else is listed.</summary>
    public bool ListsOnly(string? ip) => ip is not null && Ready.Count == 1 && Ready.Contains(ip) && NotReady.Count == 0;

    public override string ToString() => Ready.Count == 0 && NotReady.Count == 0 ? "<none>"
        : string.Join(", ", Ready.Order()) + (NotReady.Count > 0 ? $" (not ready: {string.Join(", ", NotReady.Order())})" : "");
}

/// <summary>One measured failover; timestamps are <see cref="Stopwatch"/> ticks.</summary>
public sealed record FailoverResult(
    string Group, string From, string To, string LeaseHolder,
    long Sent, long Acked, long? FailureObserved, long LeaseMoved, long Labelled, long? EndpointsSwitched)
{
    /// <summary>Milliseconds from the failure write's acknowledgement to <paramref name="timestamp"/>.</summary>
    public double Ms(long timestamp) => (timestamp - Acked) * 1000.0 / Stopwatch.Frequency;
    public double WriteMs => (Acked - Sent) * 1000.0 / Stopwatch.Frequency;
    public double LeaseMs => Ms(LeaseMoved);
    public double LabelledMs => Ms(Labelled);
    public double? EndpointsMs => EndpointsSwitched is { } e ? Ms(e) : null;
    public double? ObservedMs => FailureObserved is { } o ? Ms(o) : null;
}
