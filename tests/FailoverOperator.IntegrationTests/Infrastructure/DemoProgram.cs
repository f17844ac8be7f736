using FailoverOperator.Testing;

namespace FailoverOperator.IntegrationTests.Infrastructure;

/// <summary>`make demo`'s program (bench/FailoverBench), run as its own process the way hack/demo.sh runs it.</summary>
public static class DemoProgram
{
    /// <summary>FailoverBench.dll of the same build configuration as these tests (bin/CONFIGURATION/TFM/).</summary>
    private static string Dll
    {
        get
        {
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var dll = RepoPaths.Of("bench", "FailoverBench", "bin", output.Parent!.Name, output.Name, "FailoverBench.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException($"{dll} is missing: build Operator.sln first", dll);
        }
    }

    public static Task<Command.Result> RunAsync(string kubeconfig, string ns, params string[] options) =>
        Command.RunAsync("dotnet", [Dll, "demo", $"--kubeconfig={kubeconfig}", $"--namespace={ns}", .. options], TimeSpan.FromMinutes(3));
}
