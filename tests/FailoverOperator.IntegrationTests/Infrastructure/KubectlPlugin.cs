using FailoverOperator.Testing;

namespace FailoverOperator.IntegrationTests.Infrastructure;

/// <summary>
/// The kubectl-hag executable of the same build configuration as these tests, run the way a user runs
/// it: through kubectl's plugin mechanism (its folder first on PATH), or directly.
/// </summary>
public static class KubectlPlugin
{
    public static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    /// <summary>src/KubectlHag/bin/CONFIGURATION/TFM/, where the build leaves kubectl-hag.</summary>
    public static string Folder
    {
        get
        {
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var folder = RepoPaths.Of("src", "KubectlHag", "bin", output.Parent!.Name, output.Name);
            return File.Exists(Path.Combine(folder, "kubectl-hag")) ? folder
                : throw new FileNotFoundException($"{folder}/kubectl-hag is missing: build Operator.sln first");
        }
    }

    /// <summary>`kubectl hag ARGS`: kubectl finds kubectl-hag on PATH and runs it with the arguments after "hag".</summary>
    public static Task<ProcessRunner.Result> ThroughKubectlAsync(params string[] args) =>
        ProcessRunner.RunAsync("kubectl", ["hag", .. args], Deadline,
            [("PATH", $"{Folder}{Path.PathSeparator}{Environment.GetEnvironmentVariable("PATH")}")]);

    /// <summary>kubectl-hag ARGS, without kubectl in between.</summary>
    public static Task<ProcessRunner.Result> DirectlyAsync(params string[] args) =>
        ProcessRunner.RunAsync(Path.Combine(Folder, "kubectl-hag"), args, Deadline);
}
