using System.Text.RegularExpressions;
using k8s.Models;

namespace FailoverOperator.Failover;

/// <summary>
/// What the CRD schema cannot refuse (Kubernetes 1.20 has no CEL): a spec the operator would act on
/// wrongly. Each problem names the field, the value and what to do; a group with any is not acted on.
/// </summary>
public static partial class SpecValidation
{
    public static IReadOnlyList<string> Problems(HighAvailabilityGroupSpec spec)
    {
        var problems = new List<string>();
        var selector = spec.Selector;
        var matchLabels = selector?.MatchLabels ?? new Dictionary<string, string>();
        var expressions = selector?.MatchExpressions ?? [];
        if (matchLabels.Count == 0 && expressions.Count == 0)
        {
            problems.Add("spec.selector is empty: it would select every pod of the namespace; name the members with matchLabels or matchExpressions");
        }
        foreach (var (key, value) in matchLabels)
        {
            if (!IsLabelKey(key)) problems.Add($"spec.selector.matchLabels: \"{key}\" is not a valid label key");
            if (!IsLabelValue(value)) problems.Add($"spec.selector.matchLabels[{key}]: \"{value}\" is not a valid label value, so no pod can match it");
        }
        foreach (var (requirement, i) in expressions.Select((r, i) => (r, i)))
        {
            problems.AddRange(ExpressionProblems(requirement, $"spec.selector.matchExpressions[{i}]"));
        }

        var roleKey = spec.RoleLabelKey;
        if (!IsLabelKey(roleKey))
        {
            problems.Add($"spec.roleLabelKey: \"{roleKey}\" is not a valid label key (an optional DNS-subdomain prefix and '/', then at most 63 " +
                         "characters: letters, digits, '-', '_', '.', starting and ending with a letter or digit)");
        }
        else if (matchLabels.ContainsKey(roleKey) || expressions.Any(e => e.Key == roleKey))
        {
            problems.Add($"spec.roleLabelKey \"{roleKey}\" is also a key of spec.selector: the operator would overwrite the label that makes " +
                         $"the pods members; use a key of its own (the default is {HighAvailabilityGroupSpec.DefaultRoleLabelKey})");
        }
        if (spec.Fencing is not (FencingModes.Label or FencingModes.Agent))
        {
            problems.Add($"spec.fencing: \"{spec.Fencing}\" is not {FencingModes.Label} or {FencingModes.Agent}");
        }
        if (spec.LeaseDurationSeconds is < 1 or > 3600) problems.Add($"spec.leaseDurationSeconds: {spec.LeaseDurationSeconds} is not from 1 to 3600");
        if (spec.FailoverDelaySeconds is < 0 or > 3600) problems.Add($"spec.failoverDelaySeconds: {spec.FailoverDelaySeconds} is not from 0 to 3600");
        if (spec.ActiveCount is < 1 or > 1000) problems.Add($"spec.activeCount: {spec.ActiveCount} is not from 1 to 1000");
        else if (spec.ActiveCount > 1 && spec.Fencing == FencingModes.Agent)
        {
            // The agent renews the Lease as its single holder and proves one old active stopped at a time: a set of actives
            // would need a Lease (or a renewal) per active. Refused rather than half-fenced.
            problems.Add($"spec.activeCount: {spec.ActiveCount} is not supported with spec.fencing {FencingModes.Agent} (its agent fences a single " +
                         $"Lease holder); use activeCount 1 with {FencingModes.Agent}, or fencing {FencingModes.Label} for several actives");
        }
        if (spec.DrainTimeoutSeconds is < 1 or > 86400) problems.Add($"spec.drainTimeoutSeconds: {spec.DrainTimeoutSeconds} is not from 1 to 86400");
        return problems;
    }

    /// <summary>The rules the API server applies to a label selector requirement.</summary>
    private static IEnumerable<string> ExpressionProblems(V1LabelSelectorRequirement requirement, string path)
    {
        if (!IsLabelKey(requirement.Key)) yield return $"{path}.key: \"{requirement.Key}\" is not a valid label key";
        var values = requirement.Values ?? [];
        switch (requirement.OperatorProperty)
        {
            case "In" or "NotIn":
                if (values.Count == 0) yield return $"{path}: operator {requirement.OperatorProperty} needs at least one value";
                foreach (var value in values.Where(v => !IsLabelValue(v))) yield return $"{path}.values: \"{value}\" is not a valid label value";
                break;
            case "Exists" or "DoesNotExist":
                if (values.Count > 0) yield return $"{path}: operator {requirement.OperatorProperty} takes no values";
                break;
            default:
                yield return $"{path}.operator: \"{requirement.OperatorProperty}\" is not one of In, NotIn, Exists, DoesNotExist";
                break;
        }
    }

    public static bool IsLabelKey(string? key)
    {
        if (string.IsNullOrEmpty(key)) return false;
        var slash = key.IndexOf('/');
        var (prefix, name) = slash < 0 ? (null, key) : (key[..slash], key[(slash + 1)..]);
        if (prefix is not null && (prefix.Length is 0 or > 253 || !DnsSubdomain().IsMatch(prefix))) return false;
        return name.Length is > 0 and <= 63 && LabelName().IsMatch(name);
    }

    public static bool IsLabelValue(string? value) =>
        value is not null && (value.Length == 0 || (value.Length <= 63 && LabelName().IsMatch(value)));

    [GeneratedRegex(@"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")]
    private static partial Regex LabelName();

    [GeneratedRegex(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex DnsSubdomain();
}
