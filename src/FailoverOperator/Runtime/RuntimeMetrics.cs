using Prometheus;

namespace FailoverOperator.Runtime;

/// <summary>
/// Metrics of the runtime itself, the same for every controller it runs: reconciles and the work
/// queue labelled by controller, API requests, leadership. A domain's own metrics live with the domain.
/// </summary>
public static class RuntimeMetrics
{
    private const string Prefix = "failover_operator_";

    public static readonly Counter Reconciles = Metrics.CreateCounter(
        Prefix + "reconcile_total",
        "Reconciles by controller and result (success, conflict, not_found, error, cancelled, namespace_terminating).",
        "controller", "result");

    public static readonly Histogram ReconcileDuration = Metrics.CreateHistogram(
        Prefix + "reconcile_duration_seconds", "Reconcile duration by controller and result.",
        new HistogramConfiguration { LabelNames = ["controller", "result"], Buckets = Histogram.ExponentialBuckets(0.0005, 2, 16) });

    public static readonly Gauge WorkQueueDepth = Metrics.CreateGauge(
        Prefix + "workqueue_depth", "Keys waiting in a controller's work queue.", "controller");

    public static readonly Gauge Leader = Metrics.CreateGauge(
        Prefix + "leader", "Whether this instance is the leader and reconciles (1) or waits (0).");

    public static readonly Counter ApiRequests = Metrics.CreateCounter(
        Prefix + "api_requests_total", "Requests sent to the Kubernetes API server, by verb and status code.",
        "verb", "code");
}
