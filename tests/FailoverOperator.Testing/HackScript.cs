namespace FailoverOperator.Testing;

/// <summary>
/// The scripts of hack/ that start and stop the local clusters (control-plane.sh, node.sh), run with a
/// deadline from the repository's root. Shared by the test fixtures and the chaos program.
/// </summary>
public static class HackScript
{
    public static Task<ProcessRunner.Result> RunAsync(string script, IEnumerable<string> args, TimeSpan timeout, params (string Name, string Value)[] env) =>
        ProcessRunner.RunCheckedAsync("bash", [RepoPaths.Of("hack", script), .. args], timeout, env);

    /// <summary><c>up DIR</c> with a watchdog on this process (the plane stops by itself if this process dies)
    /// and <paramref name="env"/> (node.sh: NODES=2, say); returns the kubeconfig's path.</summary>
    public static async Task<string> UpAsync(string script, string runDir, TimeSpan timeout, params (string Name, string Value)[] env)
    {
        await RunAsync(script, ["up", runDir], timeout, [("OWNER_PID", Environment.ProcessId.ToString()), .. env]);
        return Path.Combine(runDir, "kubeconfig");
    }

    public static Task DownAsync(string script, string runDir) => RunAsync(script, ["down", runDir], TimeSpan.FromMinutes(3));

    /// <summary>control-plane.sh only: stops and restarts kube-apiserver (same port, same data), as an upgrade or crash would.</summary>
    public static Task RestartApiServerAsync(string runDir) => RunAsync("control-plane.sh", ["restart-apiserver", runDir], TimeSpan.FromMinutes(2));
}
