using System.Collections.Concurrent;
using Prometheus;

namespace FailoverOperator.Failover;

/// <summary>
/// The failover domain's metrics. The runtime's (reconciles, queue, API requests, leadership) are in
/// <see cref="Runtime.RuntimeMetrics"/>; process and .NET metrics come with prometheus-net.
/// </summary>
public sealed class FailoverMetrics
{
    private static readonly Counter Failovers = Metrics.CreateCounter(
        "failover_operator_failovers_total", "Failovers performed, by group and the active's failure reason.",
        "namespace", "group", "reason");

    private static readonly Histogram FailoverDuration = Metrics.CreateHistogram(
        "failover_operator_failover_duration_seconds", "From the active's failure being observed to the new active being labelled.",
        new HistogramConfiguration { Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });

    private static readonly Gauge Groups = Metrics.CreateGauge(
        "failover_operator_groups", "HighAvailabilityGroups by phase.", "phase");

    // Every phase is exposed, at 0 until a group is in it.
    static FailoverMetrics()
    {
        foreach (var phase in GroupPhase.All) Groups.WithLabels(phase).Set(0);
    }

    private readonly ConcurrentDictionary<string, string> phases = new();

    public static void FailedOver(string ns, string group, FailoverRecord record)
    {
        Failovers.WithLabels(ns, group, record.Reason ?? "").Inc();
        if (record.DurationMilliseconds is { } ms) FailoverDuration.Observe(ms / 1000.0);
    }

    /// <summary>The gauge moves by one per phase change, so a reconcile never walks every group.</summary>
    public void SetPhase(string key, string phase)
    {
        var previous = phases.TryGetValue(key, out var p) ? p : null;
        if (previous == phase) return;
        phases[key] = phase;
        if (previous is not null) Groups.WithLabels(previous).Dec();
        Groups.WithLabels(phase).Inc();
    }

    public void ForgetPhase(string key)
    {
        if (phases.TryRemove(key, out var previous)) Groups.WithLabels(previous).Dec();
    }
}
