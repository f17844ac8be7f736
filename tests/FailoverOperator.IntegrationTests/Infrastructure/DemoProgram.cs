using FailoverOperator.Testing;

namespace FailoverOperator.IntegrationTests.Infrastructure;

/// <summary>`make demo`'s program (samples/FailoverDemo), run as its own process the way hack/demo.sh runs it.</summary>
public static class DemoProgram
{
    /// <summary>FailoverDemo.dll of the same build configuration as these tests (bin/CONFIGURATION/TFM/).</summary>
    private static string Dll
    {
        get
        {
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var dll = RepoPaths.Of("samples", "FailoverDemo", "bin", output.Parent!.Name, output.Name, "FailoverDemo.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException($"{dll} is missing: build Operator.sln first", dll);
        }
    }

    public static Task<ProcessRunner.Result> RunAsync(string kubeconfig, string ns, params string[] options) =>
        ProcessRunner.RunAsync("dotnet", [Dll, $"--kubeconfig={kubeconfig}", $"--namespace={ns}", .. options], TimeSpan.FromMinutes(3));
}
