using FailoverOperator.Runtime;
using Microsoft.Extensions.Logging;

namespace FailoverOperator.Failover;

/// <summary>
/// Reconciles one group: observe (caches → <see cref="GroupObservation"/>), decide (pure,
/// <see cref="FailoverDecision"/>), execute (<see cref="PlanExecutor"/>), then metrics and logs.
/// Safe to run any number of times and to crash at any line: the next run converges on the Lease.
/// </summary>
public sealed class GroupReconciler(
    GroupObserver observer,
    PlanExecutor executor,
    FailoverMetrics metrics,
    TimeProvider time,
    ILogger<GroupReconciler> logger) : IReconciler
{
    public async Task<TimeSpan?> ReconcileAsync(string key, CancellationToken cancellationToken)
    {
        var observed = observer.Observe(key, time.GetUtcNow());
        if (observed is null)
        {
            // Deleted: the Lease goes with it (ownerReference); pods keep their labels so traffic is not cut.
            metrics.ForgetPhase(key);
            return null;
        }

        var plan = FailoverDecision.Decide(observed.Observation);
        var failover = await executor.ExecuteAsync(observed, plan, cancellationToken).ConfigureAwait(false);

        metrics.SetPhase(key, plan.Status.Phase!);
        if (plan.EarlierFailover is { } earlier) FailoverMetrics.FailedOver(observed.Namespace, observed.Name, earlier);
        if (failover is not null)
        {
            FailoverMetrics.FailedOver(observed.Namespace, observed.Name, failover);
            // Planned moves have a request or a drain, not a failure, to count from.
            var (what, since) = failover.Reason switch
            {
                FailoverReasons.Switchover => ("switched over", "the request"),
                FailoverReasons.NodeDrain => ("moved off a draining node", "the drain was observed"),
                _ => ("failed over", "the failure was observed"),
            };
            logger.LogInformation("group {Namespace}/{Group}: {What} from {From} to {To} ({Reason}, term {Term}) in {Duration} ms after {Since}",
                observed.Namespace, observed.Name, what, failover.From, failover.To, failover.Reason, failover.Term, failover.DurationMilliseconds, since);
        }
        foreach (var e in plan.Events)
        {
            logger.Log(e.Type == EventTypes.Normal ? LogLevel.Information : LogLevel.Warning,
                "group {Namespace}/{Group}: {Message}", observed.Namespace, observed.Name, e.Message);
        }
        return Sooner(plan.RequeueAfter, observed.NodeLostIn + NodeLossMargin);
    }

    /// <summary>Looked at just after a node's heartbeat crossed the threshold, so it does count as lost then.</summary>
    private static readonly TimeSpan NodeLossMargin = TimeSpan.FromMilliseconds(10);

    private static TimeSpan? Sooner(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : a < b ? a : b;
}
