using System.Diagnostics;
using k8s.Models;

namespace FailoverOperator.Testing;

/// <summary>A pod as the timeline sees it.</summary>
public sealed record PodView(string Name, string? Group, string? Role, string? Ip, bool Ready, int Restarts)
{
    public static PodView Of(V1Pod pod) => new(
        pod.Metadata.Name,
        pod.GetLabel(Cluster.GroupLabel),
        pod.GetLabel(Cluster.RoleLabel),
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
