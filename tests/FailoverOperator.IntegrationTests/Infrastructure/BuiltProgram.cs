using FailoverOperator.Testing;

namespace FailoverOperator.IntegrationTests.Infrastructure;

/// <summary>A program of this repository, run as its own process from its own build output (built first by a project reference).</summary>
public static class BuiltProgram
{
    /// <summary>The program's DLL in the same build configuration as these tests (PROJECT/bin/CONFIGURATION/TFM/).</summary>
    public static string Dll(string projectDir, string assembly)
    {
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var dll = RepoPaths.Of([.. projectDir.Split('/'), "bin", output.Parent!.Name, output.Name, assembly + ".dll"]);
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"{dll} is missing: build Operator.sln first", dll);
    }
}
