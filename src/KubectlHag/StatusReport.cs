using System.Globalization;
using System.Text;
using FailoverOperator.Failover;
using k8s;
using k8s.Models;

namespace KubectlHag;

/// <summary>The text of `kubectl hag status`: the group, its conditions, its members, the Lease, the last changes.</summary>
public static class StatusReport
{
    public static string Render(HighAvailabilityGroup group, IReadOnlyList<V1Pod> members, V1Lease? lease)
    {
        var status = group.Status;
        var text = new StringBuilder();
        Field(text, "Group", $"{group.Metadata.NamespaceProperty}/{group.Metadata.Name}");
        Field(text, "Phase", status?.Phase ?? "(not observed yet)");
        Field(text, "Active", Actives(group));
        Field(text, "Paused", group.Spec.Paused ? "true" : "false");
        Field(text, "Fencing", group.Spec.Fencing);
        Field(text, "Lease", lease is null ? "none yet"
            : $"holder {Or(lease.Spec?.HolderIdentity, "none")}, term {lease.Spec?.LeaseTransitions ?? 0} (leaseTransitions)" +
              (lease.Metadata?.Annotations is { } annotations && annotations.TryGetValue(Roles.LeaseActivesAnnotation, out var set) ? $", actives {set}" : ""));
        Field(text, "Ready standbys", (status?.ReadyStandbys ?? 0).ToString(CultureInfo.InvariantCulture));
        Field(text, "Failovers", (status?.FailoverCount ?? 0).ToString(CultureInfo.InvariantCulture));
        Field(text, "Last failover", Describe(status?.LastFailover));
        Field(text, "Last switchover", Describe(status?.LastSwitchover));
        if (group.GetAnnotation(Roles.SwitchoverAnnotation) is { } pending) Field(text, "Pending switchover", $"to {pending}");

        text.AppendLine().AppendLine("Conditions:");
        text.Append((status?.Conditions ?? []).Count == 0 ? "  none\n"
            : TextTable.Render(["TYPE", "STATUS", "REASON", "MESSAGE"],
                status!.Conditions!.Select(c => new[] { c.Type, c.Status, Or(c.Reason, "-"), Or(c.Message, "-") }), "  "));

        text.AppendLine().AppendLine("Members:");
        text.Append(members.Count == 0 ? "  none: no pod matches spec.selector\n"
            : TextTable.Render(["NAME", "ROLE", "READY", "PHASE", "NODE", "PRIORITY", "PROMOTABLE"],
                members.Select(p => MemberRow(p, group.Spec.RoleLabelKey)), "  "));
        return text.ToString();
    }

    /// <summary>The active pod; with spec.activeCount above 1 every active, the first holding the Lease, and how many of how many.</summary>
    private static string Actives(HighAvailabilityGroup group)
    {
        var status = group.Status;
        if (group.Spec.ActiveCount <= 1 && status?.ActivePods is not { Count: > 1 }) return status?.ActivePod ?? "none";
        var actives = status?.ActivePods ?? (status?.ActivePod is { } single ? [single] : []);
        return $"{(actives.Count == 0 ? "none" : string.Join(", ", actives))} ({actives.Count} of activeCount {group.Spec.ActiveCount})";
    }

    /// <summary>One switchover answer, as status and switchover print it.</summary>
    public static string Describe(SwitchoverRecord? record) => record is null ? "none"
        : $"{record.Result} {Or(record.From, "?")} -> {Or(record.To, "?")} at {Time(record.RequestedAt)}{Took(record.DurationMilliseconds, record.Term)}: {record.Message}";

    private static string Describe(FailoverRecord? record) => record is null ? "none"
        : $"{Or(record.From, "?")} -> {Or(record.To, "?")} ({record.Reason}{(record.Proof is { } proof ? $", proof {proof}" : "")}) at {Time(record.CompletedAt ?? record.DetectedAt)}{Took(record.DurationMilliseconds, record.Term)}";

    // Absent annotations read as the operator reads them: priority 0, promotable.
    private static string[] MemberRow(V1Pod pod, string roleLabelKey) =>
    [
        pod.Metadata.Name,
        Or(pod.GetLabel(roleLabelKey), "-"),
        pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "Ready")?.Status ?? "Unknown",
        pod.Metadata.DeletionTimestamp is null ? Or(pod.Status?.Phase, "Unknown") : "Terminating",
        Or(pod.Spec?.NodeName, "-"),
        Or(pod.GetAnnotation(Roles.PriorityAnnotation), "0"),
        Or(pod.GetAnnotation(Roles.PromotableAnnotation), "true"),
    ];

    private static string Took(long? milliseconds, int? term)
    {
        string[] parts = [.. milliseconds is { } ms ? [$"{ms} ms"] : Array.Empty<string>(), .. term is { } t ? [$"term {t}"] : Array.Empty<string>()];
        return parts.Length == 0 ? "" : $" ({string.Join(", ", parts)})";
    }

    private static string Time(DateTime? at) => at?.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture) ?? "?";

    private static void Field(StringBuilder text, string name, string value) => text.AppendLine($"{name + ":",-19}{value}");

    private static string Or(string? value, string fallback) => string.IsNullOrEmpty(value) ? fallback : value;
}
