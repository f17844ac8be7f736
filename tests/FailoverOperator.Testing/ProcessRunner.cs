using System.Diagnostics;

namespace FailoverOperator.Testing;

/// <summary>Runs a program (scripts, helm, kubectl) to completion with a deadline, capturing its output.</summary>
public static class ProcessRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string Output => Stdout + Stderr;
    }

    /// <summary>Runs in the repository's root when there is one (scripts resolve their paths from there).</summary>
    /// <exception cref="TimeoutException">the program ran past <paramref name="timeout"/>; it is killed</exception>
    public static async Task<Result> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout,
        IEnumerable<(string Name, string Value)>? env = null, string? stdin = null)
    {
        var start = new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            WorkingDirectory = RepoPaths.Found ?? Environment.CurrentDirectory,
        };
        foreach (var (name, value) in env ?? []) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} took longer than {timeout}:\n{await stdout}\n{await stderr}");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs and fails with the program's output when it exits non-zero.</summary>
    public static async Task<Result> RunCheckedAsync(string file, IEnumerable<string> args, TimeSpan timeout,
        IEnumerable<(string Name, string Value)>? env = null, string? stdin = null)
    {
        var result = await RunAsync(file, args, timeout, env, stdin);
        if (result.ExitCode != 0)
        {
            throw new ProcessFailedException($"{file} {string.Join(' ', args)} failed ({result.ExitCode}):\n{result.Output}");
        }
        return result;
    }
}

public sealed class ProcessFailedException(string message) : Exception(message);
