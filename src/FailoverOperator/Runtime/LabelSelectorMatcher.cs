using k8s.Models;

namespace FailoverOperator.Runtime;

/// <summary>Evaluates a metav1.LabelSelector the way the API server does.</summary>
public static class LabelSelectorMatcher
{
    public static bool Matches(V1LabelSelector? selector, IDictionary<string, string>? labels)
    {
        // A group without a selector selects nothing (the CRD requires one; this guards odd objects).
        if (selector is null) return false;
        labels ??= new Dictionary<string, string>();
        if (selector.MatchLabels is { } matchLabels)
        {
            foreach (var (key, value) in matchLabels)
            {
                if (!labels.TryGetValue(key, out var actual) || actual != value) return false;
            }
        }
        foreach (var requirement in selector.MatchExpressions ?? [])
        {
            var has = labels.TryGetValue(requirement.Key ?? "", out var actual);
            var values = requirement.Values ?? [];
            var ok = requirement.OperatorProperty switch
            {
                "In" => has && values.Contains(actual!),
                "NotIn" => !has || !values.Contains(actual!),
                "Exists" => has,
                "DoesNotExist" => !has,
                _ => false, // unknown operators match nothing rather than everything
            };
            if (!ok) return false;
        }
        return true;
    }

    /// <summary>The selector in the API's query-string form, for messages.</summary>
    public static string Describe(V1LabelSelector? selector)
    {
        if (selector is null) return "<none>";
        var parts = new List<string>();
        foreach (var (k, v) in selector.MatchLabels ?? new Dictionary<string, string>()) parts.Add($"{k}={v}");
        foreach (var r in selector.MatchExpressions ?? [])
        {
            parts.Add(r.OperatorProperty switch
            {
                "Exists" => r.Key,
                "DoesNotExist" => "!" + r.Key,
                _ => $"{r.Key} {r.OperatorProperty.ToLowerInvariant()} ({string.Join(",", r.Values ?? [])})",
            });
        }
        return string.Join(",", parts);
    }
}
