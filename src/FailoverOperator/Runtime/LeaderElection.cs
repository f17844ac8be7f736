using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using Microsoft.Extensions.Logging;

namespace FailoverOperator.Runtime;

public sealed record LeaderElectionOptions(string Namespace, string LeaseName, string Identity, TimeSpan LeaseDuration);

/// <summary>
/// Runs work only while this instance holds the election Lease, and releases the Lease when the
/// process stops so another instance takes over on its next retry instead of after a whole lease.
/// </summary>
[RbacRule("coordination.k8s.io", "leases", "get", "create", "update", Scope = RbacScope.LeaderElection)]
public sealed class LeaderElection(IKubernetes client, LeaderElectionOptions options, ILogger<LeaderElection> logger)
{
    /// <summary>
    /// Waits for leadership, then runs <paramref name="lead"/> until leadership ends or
    /// <paramref name="stoppingToken"/> is cancelled.
    /// </summary>
    /// <returns>True when it ended because the process is stopping (the Lease is released); false when
    /// leadership was lost: another instance may already lead, so the caller must stop acting.</returns>
    public async Task<bool> RunAsync(Func<CancellationToken, Task> lead, CancellationToken stoppingToken)
    {
        var leaseLock = new LeaseLock(client, options.Namespace, options.LeaseName, options.Identity);
        using var elector = new LeaderElector(new LeaderElectionConfig(leaseLock)
        {
            LeaseDuration = options.LeaseDuration,
            RenewDeadline = options.LeaseDuration * 2 / 3,
            // Standbys poll once a second, so a released Lease is taken over within about a second.
            RetryPeriod = TimeSpan.FromSeconds(1),
        });
        using var leading = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        Task? work = null;
        elector.OnStartedLeading += () =>
        {
            logger.LogInformation("became leader ({Identity})", options.Identity);
            RuntimeMetrics.Leader.Set(1);
            work = lead(leading.Token);
        };
        elector.OnNewLeader += leader => logger.LogInformation("leader is now {Leader}", string.IsNullOrEmpty(leader) ? "<none>" : leader);
        logger.LogInformation("waiting to become leader of {Namespace}/{Lease} as {Identity}", options.Namespace, options.LeaseName, options.Identity);
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
        RuntimeMetrics.Leader.Set(0);

        if (!stoppingToken.IsCancellationRequested)
        {
            logger.LogCritical("lost leadership of {Namespace}/{Lease}", options.Namespace, options.LeaseName);
            return false;
        }
        if (elector.IsLeader()) await ReleaseAsync(leaseLock).ConfigureAwait(false);
        return true;
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
