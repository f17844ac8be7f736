namespace FailoverOperator.Testing;

/// <summary>Finds files of this repository from a program's output folder.</summary>
public static class RepoPaths
{
    /// <summary>The folder holding Operator.sln above this program, or null when it runs outside a checkout.</summary>
    public static string? Found { get; } = FindRoot();

    public static string Root => Found ?? throw new InvalidOperationException($"Operator.sln not found above {AppContext.BaseDirectory}");

    public static string Of(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string? FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Operator.sln"))) return dir.FullName;
        }
        return null;
    }
}
