using FailoverOperator.Testing;

namespace FailoverOperator.IntegrationTests.Infrastructure;

/// <summary>`make demo`'s program (samples/FailoverDemo), run as its own process the way hack/demo.sh runs it.</summary>
public static class DemoProgram
{
    private static string Dll => BuiltProgram.Dll("samples/FailoverDemo", "FailoverDemo");

    public static Task<ProcessRunner.Result> RunAsync(string kubeconfig, string ns, params string[] options) =>
        ProcessRunner.RunAsync("dotnet", [Dll, $"--kubeconfig={kubeconfig}", $"--namespace={ns}", .. options], TimeSpan.FromMinutes(3));
}
