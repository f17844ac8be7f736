namespace FailoverOperator.Testing;

/// <summary>
/// Each test run starts its cluster in TMPDIR/PREFIX-PID and keeps that folder after `down`: only
/// the logs remain, for reading a failure afterwards. Without pruning they pile up run after run.
/// </summary>
public static class RunDirectories
{
    private const int StoppedRunsKept = 5;

    /// <summary>The folder for this process's cluster, after deleting the oldest stopped runs' folders.</summary>
    public static string ForThisRun(string prefix)
    {
        var mine = Path.Combine(Path.GetTempPath(), $"{prefix}-{Environment.ProcessId}");
        var stopped = Directory.EnumerateDirectories(Path.GetTempPath(), $"{prefix}-*")
            .Where(d => d != mine && int.TryParse(Path.GetFileName(d)[(prefix.Length + 1)..], out _) && Safely(() => HoldsOnlyLogs(d)))
            .OrderByDescending(Directory.GetLastWriteTimeUtc)
            .Skip(StoppedRunsKept);
        // Pruning is housekeeping: a folder another run is using, or pruning at the same time, stays.
        foreach (var dir in stopped) Safely(() => { Directory.Delete(dir, recursive: true); return true; });
        return mine;
    }

    private static bool Safely(Func<bool> action)
    {
        try { return action(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    }

    // `down` leaves only logs behind. Anything else (pids, kubeconfig, data) means the run is still
    // up, or was never stopped and its `down` still has work to do: not ours to delete.
    private static bool HoldsOnlyLogs(string dir) =>
        Directory.EnumerateFiles(dir).All(f => f.EndsWith(".log", StringComparison.Ordinal)) &&
        Directory.EnumerateDirectories(dir).All(sub => Path.GetFileName(sub) == "logs" || HoldsOnlyLogs(sub));
}
