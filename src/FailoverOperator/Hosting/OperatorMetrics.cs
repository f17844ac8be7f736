using Prometheus;

namespace FailoverOperator.Hosting;

/// <summary>The operator's Prometheus metrics (process and .NET runtime metrics come with prometheus-net).</summary>
public static class OperatorMetrics
{
    public static readonly Counter Failovers = Metrics.CreateCounter(
        "failover_operator_failovers_total", "Failovers performed, by group and the active's failure reason.",
        "namespace", "group", "reason");

    public static readonly Histogram FailoverDuration = Metrics.CreateHistogram(
        "failover_operator_failover_duration_seconds", "From the active's failure being observed to the new active being labelled.",
        new HistogramConfiguration { Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });

    public static readonly Gauge Groups = Metrics.CreateGauge(
        "failover_operator_groups", "HighAvailabilityGroups by phase.", "phase");

    // Every phase is exposed, at 0 until a group is in it.
    static OperatorMetrics()
    {
        foreach (var phase in Failover.GroupPhase.All) Groups.WithLabels(phase).Set(0);
    }

    public static readonly Counter Reconciles = Metrics.CreateCounter(
        "failover_operator_reconcile_total", "Reconciles by result (success, conflict, not_found, error, cancelled, namespace_terminating).", "result");

    public static readonly Histogram ReconcileDuration = Metrics.CreateHistogram(
        "failover_operator_reconcile_duration_seconds", "Reconcile duration by result.",
        new HistogramConfiguration { LabelNames = ["result"], Buckets = Histogram.ExponentialBuckets(0.0005, 2, 16) });

    public static readonly Gauge WorkQueueDepth = Metrics.CreateGauge(
        "failover_operator_workqueue_depth", "Keys waiting in the work queue.");

    public static readonly Gauge Leader = Metrics.CreateGauge(
        "failover_operator_leader", "Whether this instance is the leader and reconciles (1) or waits (0).");

    public static readonly Counter ApiRequests = Metrics.CreateCounter(
        "failover_operator_api_requests_total", "Requests sent to the Kubernetes API server, by verb and status code.",
        "verb", "code");
}
