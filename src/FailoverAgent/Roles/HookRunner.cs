using System.Diagnostics;
using System.Text;

namespace FailoverAgent.Roles;

public enum HookOutcome { Succeeded, Failed, TimedOut }

/// <summary>One run of a hook. ExitCode: the command's, or the HTTP status for a URL (0 when none came back).</summary>
public sealed record HookAttempt(string Hook, HookOutcome Outcome, int ExitCode, long Term, int Attempt, int MaxAttempts, bool WillRetry, string Output);

/// <summary>The retry rules shared by command and URL hooks.</summary>
public sealed record HookPolicy(TimeSpan Timeout, int MaxAttempts, TimeSpan FirstBackoff)
{
    private static readonly TimeSpan MaximumBackoff = TimeSpan.FromSeconds(30);

    public TimeSpan Backoff(int attempt) =>
        TimeSpan.FromMilliseconds(Math.Min(MaximumBackoff.TotalMilliseconds, FirstBackoff.TotalMilliseconds * Math.Pow(2, attempt - 1)));
}

/// <summary>
/// Runs a hook the way Redis Sentinel runs client-reconfig-script: a timeout (the hook's whole
/// process group is killed), exit 0 = done, exit 1 or killed by the timeout = retry with backoff
/// (bounded), exit 2 or more = give up at once. Every run is handed to <paramref name="report"/>.
/// </summary>
public sealed class HookRunner(HookPolicy policy, Action<HookAttempt> report)
{
    public const int ExitRetry = 1;

    /// <summary>`/bin/sh -c COMMAND` with the role change in its environment. True when a run succeeded.</summary>
    public Task<bool> RunCommandAsync(string name, string command, RoleChange change, CancellationToken cancel) =>
        RetryAsync(name, change.Term, attempt => RunOnceAsync(name, command, change, attempt, cancel), cancel);

    /// <summary>Runs attempts until one succeeds, one says "give up", or the attempts are spent.</summary>
    public async Task<bool> RetryAsync(string name, long term, Func<int, Task<(HookOutcome Outcome, int Code, string Output)>> runOnce, CancellationToken cancel)
    {
        for (var attempt = 1; ; attempt++)
        {
            var (outcome, code, output) = await runOnce(attempt);
            var retryable = outcome == HookOutcome.TimedOut || (outcome == HookOutcome.Failed && code == ExitRetry);
            var willRetry = retryable && attempt < policy.MaxAttempts && !cancel.IsCancellationRequested;
            report(new HookAttempt(name, outcome, code, term, attempt, policy.MaxAttempts, willRetry, output));
            if (outcome == HookOutcome.Succeeded) return true;
            if (!willRetry) return false;
            await Task.Delay(policy.Backoff(attempt), cancel);
        }
    }

    private async Task<(HookOutcome, int, string)> RunOnceAsync(string name, string command, RoleChange change, int attempt, CancellationToken cancel)
    {
        var environment = new Dictionary<string, string>(change.Environment)
        {
            ["FAILOVER_HOOK"] = name,
            ["FAILOVER_HOOK_ATTEMPT"] = attempt.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        using var group = ProcessGroup.Start(["/bin/sh", "-c", command], environment, redirectOutput: true);
        var output = new StringBuilder();
        var stdout = PumpAsync(group.Process.StandardOutput, output);
        var stderr = PumpAsync(group.Process.StandardError, output);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(policy.Timeout);
        try
        {
            await group.Process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            group.KillAll();
            await group.Process.WaitForExitAsync(CancellationToken.None);
            cancel.ThrowIfCancellationRequested();
            return (HookOutcome.TimedOut, group.Process.ExitCode, await OutputAsync(output, stdout, stderr));
        }
        var code = group.Process.ExitCode;
        return (code == 0 ? HookOutcome.Succeeded : HookOutcome.Failed, code, await OutputAsync(output, stdout, stderr));
    }

    // The pipes close when the last process holding them exits; a killed hook's orphan must not
    // hold the report up, so the output is what arrived within a short while.
    private static async Task<string> OutputAsync(StringBuilder output, Task stdout, Task stderr)
    {
        await Task.WhenAny(Task.WhenAll(stdout, stderr), Task.Delay(TimeSpan.FromSeconds(1)));
        lock (output) return output.ToString().TrimEnd();
    }

    private static async Task PumpAsync(StreamReader reader, StringBuilder output)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (output) if (output.Length < 4000) output.AppendLine(line);
        }
    }
}
