using FailoverOperator.Failover;

namespace FailoverOperator.Manifests;

/// <summary>Every file make crds writes, with its content, by path relative to the repository root.</summary>
public static class GeneratedFiles
{
    public const string Chart = "failover-operator";

    public static readonly string RbacRulesPath = Path.Combine("charts", Chart, "templates", "_rbac-rules.tpl");

    public static IReadOnlyList<(string Path, string Content)> All()
    {
        var operatorAssembly = typeof(HighAvailabilityGroup).Assembly;
        var files = new List<(string, string)>();
        foreach (var entity in CrdGenerator.Entities(operatorAssembly))
        {
            var crd = CrdGenerator.Yaml(entity);
            // Helm installs CRDs from the chart's crds/; kubectl users apply the top-level crds/.
            files.Add((Path.Combine("crds", CrdGenerator.FileName(entity)), crd));
            files.Add((Path.Combine("charts", Chart, "crds", CrdGenerator.FileName(entity)), crd));
        }
        files.Add((RbacRulesPath, RbacTemplate.Render(RbacModel.Of(operatorAssembly), Chart)));
        return files;
    }
}
