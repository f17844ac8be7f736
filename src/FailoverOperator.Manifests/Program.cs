// make crds: writes the CRDs and the chart's RBAC rules from the operator's C# types and [RbacRule]
// declarations. Usage: FailoverOperator.Manifests [repository root, default: the current directory]
using FailoverOperator.Manifests;

var root = args.Length > 0 ? args[0] : Directory.GetCurrentDirectory();
if (!File.Exists(Path.Combine(root, "Operator.sln")))
{
    Console.Error.WriteLine($"{Path.GetFullPath(root)} is not the repository root (no Operator.sln): pass the root as the first argument");
    return 2;
}
foreach (var (path, content) in GeneratedFiles.All())
{
    var full = Path.Combine(root, path);
    var unchanged = File.Exists(full) && File.ReadAllText(full) == content;
    if (!unchanged)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
    }
    Console.WriteLine($"{(unchanged ? "unchanged" : "wrote    ")} {path}");
}
return 0;
