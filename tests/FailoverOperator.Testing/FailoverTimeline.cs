using System.Diagnostics;
using System.Net;
using System.Text;
using FailoverOperator.Failover;
using FailoverOperator.Runtime;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace FailoverOperator.Testing;

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
public sealed partial class FailoverTimeline : IAsyncDisposable
{
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

    public string Namespace { get; }

    private FailoverTimeline(string ns)
    {
        Namespace = ns;
    }

    /// <summary>Lists and watches the namespace; returns once every watch is established.</summary>
    /// <param name="watchClient">a client without a request timeout (a timeout would cut the watches)</param>
    public static async Task<FailoverTimeline> StartAsync(IKubernetes watchClient, string ns, bool watchEndpoints, TimeSpan? timeout = null)
    {
        var timeline = new FailoverTimeline(ns);
        var established = new List<Task>
        {
            timeline.Watch("pods", ListWatch.For<V1Pod, V1PodList>(watchClient, ns)),
            timeline.Watch("leases", ListWatch.For<V1Lease, V1LeaseList>(watchClient, ns)),
            timeline.Watch("groups", ListWatch.For<HighAvailabilityGroup, CustomResourceList<HighAvailabilityGroup>>(watchClient, ns)),
        };
        if (watchEndpoints) established.Add(timeline.Watch("endpoints", ListWatch.For<V1Endpoints, V1EndpointsList>(watchClient, ns)));
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
}
