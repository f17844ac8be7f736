using System.Reflection;
using FailoverOperator.Runtime;

namespace FailoverOperator.Manifests;

/// <summary>One RBAC rule: verbs on one resource ("pods", or "groups/status" for a subresource).</summary>
/// <param name="OnlyElectionLease">The rule is limited by resourceNames to the leader-election Lease.</param>
public sealed record PolicyRule(string ApiGroup, string Resource, IReadOnlyList<string> Verbs, bool OnlyElectionLease = false);

/// <summary>
/// The permissions the operator declares with [RbacRule] next to the code that uses them, merged per
/// (scope, API group, resource), and the rules that grant exactly those. The chart's templates are
/// written from it (make crds) and the chart test proves it on a real API server.
/// </summary>
public sealed class RbacModel
{
    /// <summary>Verbs that address no single object, so a rule limited by resourceNames cannot grant them.</summary>
    private static readonly HashSet<string> Unnamed = ["create", "list", "watch", "deletecollection"];

    /// <summary>Every verb a rule can grant on a resource: what the operator did not declare, the chart must deny.</summary>
    public static readonly IReadOnlyList<string> AllVerbs = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"];

    private readonly IReadOnlyList<(RbacScope Scope, PolicyRule Rule)> declared;

    private RbacModel(IReadOnlyList<(RbacScope, PolicyRule)> declared) => this.declared = declared;

    public static RbacModel Of(Assembly assembly) => Of(assembly.GetTypes());

    public static RbacModel Of(IEnumerable<Type> types) => new(types
        .SelectMany(t => t.GetCustomAttributes<RbacRuleAttribute>())
        .GroupBy(a => (a.Scope, a.ApiGroup, a.Resource))
        .OrderBy(g => g.Key.Scope).ThenBy(g => g.Key.ApiGroup, StringComparer.Ordinal).ThenBy(g => g.Key.Resource, StringComparer.Ordinal)
        .Select(g => (g.Key.Scope, new PolicyRule(g.Key.ApiGroup, g.Key.Resource,
            g.SelectMany(a => a.Verbs).Distinct().Order(StringComparer.Ordinal).ToList())))
        .ToList());

    /// <summary>The rules of one scope. The leader-election scope's named verbs are limited to the election Lease.</summary>
    public IReadOnlyList<PolicyRule> Rules(RbacScope scope) =>
        [.. declared.Where(d => d.Scope == scope).SelectMany(d => scope == RbacScope.LeaderElection ? SplitByName(d.Rule) : [d.Rule])];

    private static IEnumerable<PolicyRule> SplitByName(PolicyRule rule)
    {
        var unnamed = rule.Verbs.Where(Unnamed.Contains).ToList();
        var named = rule.Verbs.Where(v => !Unnamed.Contains(v)).ToList();
        if (unnamed.Count > 0) yield return rule with { Verbs = unnamed };
        if (named.Count > 0) yield return rule with { Verbs = named, OnlyElectionLease = true };
    }
}
