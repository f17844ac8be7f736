using k8s.Models;

namespace FailoverOperator.Failover;

/// <summary>What the failover decision reads from a Node: whether it is being drained, and its zone.</summary>
public static class NodeFacts
{
    /// <summary>How the node is being drained: "cordoned" (spec.unschedulable, what kubectl drain does first) or its first
    /// NoExecute taint (its pods are being evicted); null when neither.</summary>
    public static string? DrainOf(V1Node node) =>
        node.Spec?.Unschedulable == true ? "cordoned"
        : node.Spec?.Taints?.FirstOrDefault(t => t.Effect == "NoExecute") is { } taint
            ? $"taint {taint.Key}{(string.IsNullOrEmpty(taint.Value) ? "" : "=" + taint.Value)}:NoExecute"
        : null;

    public static string? ZoneOf(V1Node node) =>
        node.Metadata?.Labels?.TryGetValue(FailoverDecision.ZoneLabel, out var zone) == true && zone.Length > 0 ? zone : null;

    /// <summary>The node as the cache keeps it: its name, version, zone label, cordon and NoExecute taints; the rest (status above all,
    /// which the kubelet rewrites every few seconds) is dropped.</summary>
    public static V1Node Strip(V1Node node) => new()
    {
        ApiVersion = V1Node.KubeApiVersion,
        Kind = V1Node.KubeKind,
        Metadata = new V1ObjectMeta
        {
            Name = node.Metadata.Name, Uid = node.Metadata.Uid, ResourceVersion = node.Metadata.ResourceVersion,
            Labels = ZoneOf(node) is { } zone ? new Dictionary<string, string> { [FailoverDecision.ZoneLabel] = zone } : null,
        },
        Spec = new V1NodeSpec
        {
            Unschedulable = node.Spec?.Unschedulable == true ? true : null,
            Taints = node.Spec?.Taints?.Where(t => t.Effect == "NoExecute").ToList() is { Count: > 0 } taints ? taints : null,
        },
    };
}
