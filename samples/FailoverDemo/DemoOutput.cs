using System.ComponentModel;
using FailoverOperator.Testing;

namespace FailoverDemo;

/// <summary>The demo's output: numbered steps, indented details, timeline lines and kubectl's own tables.</summary>
public static class DemoOutput
{
    public static void Step(int n, string text) => Console.WriteLine($"[{n}/6] {text}");

    public static void Detail(string text) => Console.WriteLine($"      {text}");

    public static void Line(double ms, string milestone, string what) =>
        Console.WriteLine($"      {ms,8:0.0} ms  {milestone,-20} {what}");

    /// <summary>Runs the real kubectl and prints its output, indented.</summary>
    public static async Task KubectlAsync(string? kubeconfig, params string[] args)
    {
        var all = kubeconfig is { } k ? [.. args, $"--kubeconfig={k}"] : args;
        Console.WriteLine($"      $ kubectl {string.Join(' ', args)}");
        try
        {
            var result = await ProbedWorkload.RunKubectlAsync(all, TimeSpan.FromSeconds(30));
            foreach (var line in result.Output.TrimEnd().Split('\n')) Console.WriteLine($"      {line}");
        }
        catch (Win32Exception)
        {
            Console.WriteLine("      (kubectl is not on PATH)");
        }
    }
}
