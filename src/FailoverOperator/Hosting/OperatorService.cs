using FailoverOperator.Failover;
using FailoverOperator.Runtime;
using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using k8s.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FailoverOperator.Hosting;

/// <summary>
/// Wires the runtime to the failover domain: informers for groups, pods and group Leases feed one
/// work queue; only the leader (or every instance, without leader election) runs the workers.
/// Informers run on every instance so a new leader starts with a warm cache.
/// </summary>
[RbacRule(HighAvailabilityGroup.Group, HighAvailabilityGroup.Plural, "list", "watch")]
[RbacRule("", "pods", "list", "watch")]
[RbacRule("coordination.k8s.io", "leases", "list", "watch")]
[RbacRule("coordination.k8s.io", "leases", "get", "create", "update", Scope = RbacScope.LeaderElection)]
public sealed class OperatorService(
    OperatorOptions options,
    KubernetesClients clients,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggers) : BackgroundService
{
    private readonly ILogger logger = loggers.CreateLogger<OperatorService>();
    private readonly WorkQueue queue = new();
    private IInformer[] informers = [];

    /// <summary>Null when every cache has synced; otherwise what /readyz reports as missing.</summary>
    public string? NotReadyReason =>
        informers.Length == 0 ? "informers not started"
        : informers.Where(i => !i.HasSynced).Select(i => i.Name).ToList() is { Count: > 0 } unsynced ? $"caches not synced: {string.Join(", ", unsynced)}"
        : null;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var ns = options.Namespace;
        var api = clients.Watches;

        var log = loggers.CreateLogger("Informer");
        var groups = new Informer<HighAvailabilityGroup, CustomResourceList<HighAvailabilityGroup>>(
            ListWatch.For<HighAvailabilityGroup, CustomResourceList<HighAvailabilityGroup>>(api, ns), log, "groups",
            notFoundHint: "The HighAvailabilityGroup CRD: kubectl apply -f crds/");
        var pods = new Informer<V1Pod, V1PodList>(ListWatch.For<V1Pod, V1PodList>(api, ns), log, "pods", StripPod);
        var leases = new Informer<V1Lease, V1LeaseList>(ListWatch.For<V1Lease, V1LeaseList>(api, ns, Roles.LeaseGroupLabel), log, "leases");

        groups.Changed += (old, group) =>
        {
            queue.Add(ObjectKey.Of(group ?? old!));
            // A deleted group frees the pods it claimed: another group of its namespace may select them.
            if (group is null)
            {
                foreach (var other in groups.List(old!.Metadata.NamespaceProperty ?? "")) queue.Add(ObjectKey.Of(other));
            }
        };
        leases.Changed += (old, lease) =>
        {
            // A renewal (ours, every half lease) changes nothing the decision reads: the group already
            // requeued itself for the next one. A new holder, a new or deleted Lease does.
            if (old is not null && lease is not null && old.Spec?.HolderIdentity == lease.Spec?.HolderIdentity) return;
            queue.Add(ObjectKey.Of(lease ?? old!));
        };
        pods.Changed += (old, pod) =>
        {
            var any = pod ?? old!;
            var podNs = any.Metadata.NamespaceProperty;
            // A member whose labels did not change concerns only its own group (status changes,
            // the common case, including every failure); otherwise every group of the namespace
            // that selects it before or after, or that it is annotated as a member of.
            var claimedBy = any.GetAnnotation(Roles.GroupAnnotation);
            if (old is not null && pod is not null && claimedBy is not null
                && old.GetAnnotation(Roles.GroupAnnotation) == claimedBy && SameLabels(old, pod))
            {
                queue.Add(ObjectKey.Of(podNs, claimedBy));
                return;
            }
            foreach (var group in groups.List(podNs ?? ""))
            {
                if (Concerns(group, old) || Concerns(group, pod)) queue.Add(ObjectKey.Of(group));
            }
        };

        informers = [groups, pods, leases];
        var recorder = new EventRecorder(clients.Requests, "failover-operator", options.Identity, loggers.CreateLogger<EventRecorder>());
        var reconciler = new GroupReconciler(clients.Requests,
            groups, pods, leases,
            recorder, TimeProvider.System, loggers.CreateLogger<GroupReconciler>());
        var controller = new Controller(queue, reconciler, options.Workers, loggers.CreateLogger<Controller>());

        var background = informers.Select(i => Task.Run(() => i.RunAsync(stoppingToken), CancellationToken.None))
            .Append(Task.Run(() => recorder.RunAsync(stoppingToken), CancellationToken.None)).ToList();
        logger.LogInformation("watching HighAvailabilityGroups in {Scope}", ns is null ? "all namespaces" : $"namespace {ns}");
        try
        {
            foreach (var informer in informers) await informer.WaitForSyncAsync(stoppingToken).ConfigureAwait(false);
            logger.LogInformation("caches synced: {Groups} groups, {Pods} pods, {Leases} group leases",
                groups.List().Count(), pods.List().Count(), leases.List().Count());

            if (options.LeaderElect) await RunAsLeaderAsync(controller, stoppingToken).ConfigureAwait(false);
            else
            {
                OperatorMetrics.Leader.Set(1);
                await controller.RunAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            queue.ShutDown();
            OperatorMetrics.Leader.Set(0);
            await Task.WhenAll(background).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The failover decision reads a pod's metadata, phase and conditions only. Listed pods come without
    /// apiVersion and kind, which an Event's involvedObject needs.
    /// </summary>
    private static V1Pod StripPod(V1Pod pod)
    {
        pod.ApiVersion ??= V1Pod.KubeApiVersion;
        pod.Kind ??= V1Pod.KubeKind;
        pod.Spec = null;
        if (pod.Status is { } status)
        {
            pod.Status = new V1PodStatus { Phase = status.Phase, Conditions = status.Conditions, PodIP = status.PodIP };
        }
        return pod;
    }

    private static bool SameLabels(V1Pod a, V1Pod b)
    {
        var x = a.Metadata.Labels ?? new Dictionary<string, string>();
        var y = b.Metadata.Labels ?? new Dictionary<string, string>();
        return x.Count == y.Count && x.All(kv => y.TryGetValue(kv.Key, out var v) && v == kv.Value);
    }

    private static bool Concerns(HighAvailabilityGroup group, V1Pod? pod) =>
        pod is not null && (LabelSelectorMatcher.Matches(group.Spec?.Selector, pod.Metadata.Labels)
            || pod.GetAnnotation(Roles.GroupAnnotation) == group.Metadata.Name);

    private async Task RunAsLeaderAsync(Controller controller, CancellationToken stoppingToken)
    {
        var leaseLock = new LeaseLock(clients.Requests, options.LeaderElectionNamespace, options.LeaderElectionName, options.Identity);
        var duration = options.LeaderElectionLeaseDuration;
        using var elector = new LeaderElector(new LeaderElectionConfig(leaseLock)
        {
            LeaseDuration = duration,
            RenewDeadline = duration * 2 / 3,
            // Standbys poll once a second, so a released Lease is taken over within about a second.
            RetryPeriod = TimeSpan.FromSeconds(1),
        });
        using var leading = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        Task? work = null;
        elector.OnStartedLeading += () =>
        {
            logger.LogInformation("became leader ({Identity}); reconciling", options.Identity);
            OperatorMetrics.Leader.Set(1);
            work = controller.RunAsync(leading.Token);
        };
        elector.OnNewLeader += leader => logger.LogInformation("leader is now {Leader}", string.IsNullOrEmpty(leader) ? "<none>" : leader);
        logger.LogInformation("waiting to become leader of {Namespace}/{Lease} as {Identity}",
            options.LeaderElectionNamespace, options.LeaderElectionName, options.Identity);
        try
        {
            await elector.RunUntilLeadershipLostAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        leading.Cancel();
        if (work is not null)
        {
            try { await work.ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
        OperatorMetrics.Leader.Set(0);

        if (stoppingToken.IsCancellationRequested)
        {
            if (elector.IsLeader()) await ReleaseAsync(leaseLock).ConfigureAwait(false);
            return;
        }
        // Renewal failed: another instance may already lead. Exit so no stale leader keeps writing.
        logger.LogCritical("lost leadership of {Namespace}/{Lease}; exiting", options.LeaderElectionNamespace, options.LeaderElectionName);
        Environment.ExitCode = 1;
        lifetime.StopApplication();
    }

    /// <summary>
    /// KubernetesClient's elector does not release on shutdown, which would leave the others waiting a
    /// whole lease duration; an empty holder lets them take over on their next retry.
    /// </summary>
    private async Task ReleaseAsync(LeaseLock leaseLock)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            var record = await leaseLock.GetAsync(timeout.Token).ConfigureAwait(false);
            if (record.HolderIdentity != options.Identity) return;
            var released = await leaseLock.UpdateAsync(new LeaderElectionRecord
            {
                HolderIdentity = "",
                LeaseDurationSeconds = 1,
                AcquireTime = record.AcquireTime,
                RenewTime = DateTime.UtcNow,
                LeaderTransitions = record.LeaderTransitions,
            }, timeout.Token).ConfigureAwait(false);
            logger.LogInformation(released ? "released leadership" : "could not release leadership (the Lease changed)");
        }
        catch (Exception e)
        {
            logger.LogWarning("could not release leadership: {Error}", e.Message);
        }
    }
}
