using FailoverOperator.Failover;
using FailoverOperator.Runtime;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FailoverOperator.Hosting;

/// <summary>
/// Runs the failover controller in this process: its informers and the Event recorder on every
/// instance (so a new leader starts with a warm cache), its workers only on the leader (or on every
/// instance without leader election).
/// </summary>
public sealed class OperatorService(
    OperatorOptions options,
    KubernetesClients clients,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggers) : BackgroundService
{
    private readonly ILogger logger = loggers.CreateLogger<OperatorService>();
    private IReadOnlyList<IInformer> informers = [];
    private volatile string? failed;

    /// <summary>Null while the process can do its job; otherwise what /healthz reports.</summary>
    public string? UnhealthyReason => failed;

    /// <summary>Null when every cache has synced; otherwise what /readyz reports as missing.</summary>
    public string? NotReadyReason =>
        informers.Count == 0 ? "informers not started"
        : informers.Where(i => !i.HasSynced).Select(i => i.Name).ToList() is { Count: > 0 } unsynced ? $"caches not synced: {string.Join(", ", unsynced)}"
        : null;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var recorder = new EventRecorder(clients.Requests, "failover-operator", options.Identity, loggers.CreateLogger<EventRecorder>());
        var failover = new FailoverController(clients.Watches, clients.Requests, options.Namespace, recorder, options.Workers, loggers, options.NodeLeaseStaleAfter);
        informers = failover.Caches.All;

        var background = informers.Select(i => Task.Run(() => i.RunAsync(stoppingToken), CancellationToken.None))
            .Append(Task.Run(() => recorder.RunAsync(stoppingToken), CancellationToken.None)).ToList();
        logger.LogInformation("watching HighAvailabilityGroups in {Scope}", options.Namespace is null ? "all namespaces" : $"namespace {options.Namespace}");
        if (options.NodeLeaseStaleAfter is { } stale)
        {
            logger.LogInformation("node-loss detection on: a member whose node's heartbeat is older than {Seconds} s counts as failed (NodeLost)", stale.TotalSeconds);
        }
        try
        {
            foreach (var informer in informers) await informer.WaitForSyncAsync(stoppingToken).ConfigureAwait(false);
            logger.LogInformation("caches synced: {Groups} groups, {Pods} pods, {Leases} group leases",
                failover.Caches.Groups.List().Count(), failover.Caches.Pods.List().Count(), failover.Caches.Leases.List().Count());
            await RunControllerAsync(failover.Controller, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // Never a live process without its controller: report unhealthy and exit non-zero.
            failed = $"the controller stopped: {e.Message}";
            logger.LogCritical(e, "the controller stopped; exiting");
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
        finally
        {
            failover.Controller.ShutDown();
            RuntimeMetrics.Leader.Set(0);
            await Task.WhenAll(background).ConfigureAwait(false);
        }
    }

    private async Task RunControllerAsync(Controller controller, CancellationToken stoppingToken)
    {
        if (!options.LeaderElect)
        {
            RuntimeMetrics.Leader.Set(1);
            using var abort = new CancellationTokenSource();
            using var drain = stoppingToken.Register(() => abort.CancelAfter(Controller.DrainTimeout));
            await controller.RunAsync(stoppingToken, abort.Token).ConfigureAwait(false);
            if (!stoppingToken.IsCancellationRequested) throw new InvalidOperationException("the workers stopped by themselves");
            return;
        }
        var election = new LeaderElection(clients.Requests,
            new LeaderElectionOptions(options.LeaderElectionNamespace, options.LeaderElectionName, options.Identity, options.LeaderElectionLeaseDuration),
            loggers.CreateLogger<LeaderElection>());
        while (true)
        {
            switch (await election.RunAsync(controller.RunAsync, stoppingToken).ConfigureAwait(false))
            {
                case LeadershipEnd.Stopped:
                    return;
                case LeadershipEnd.RenewalsFailed:
                    // The API server was out of reach longer than the renew deadline: the workers have stopped.
                    // Caches and identity stay, so when it answers again this process takes its own Lease back
                    // on its next retry (or waits as a standby if another took it) instead of a restart that
                    // would make every instance wait out a whole lease with cold caches.
                    continue;
                default:
                    // Another instance may already lead: exit so no stale leader keeps writing.
                    throw new InvalidOperationException("leadership lost");
            }
        }
    }
}
