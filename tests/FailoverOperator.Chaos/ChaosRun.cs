using FailoverOperator.Testing;

namespace FailoverOperator.Chaos;

/// <summary>
/// One chaos run, start to end: its own control plane (always stopped at the end), the groups and their
/// stand-in pods, two operator replicas, the storm, the convergence wait, and the oracle's verdict.
/// </summary>
public static class ChaosRun
{
    public const string Namespace = "chaos";
    private const string PlaneScript = "control-plane.sh";

    public static async Task<int> RunAsync(ChaosOptions options, CancellationToken cancel)
    {
        Directory.CreateDirectory(options.RunDir);
        var planeDir = Path.Combine(options.RunDir, "plane");
        Say($"seed={options.Seed}; run directory {options.RunDir}; starting a control plane");
        try
        {
            var kubeconfig = await HackScript.UpAsync(PlaneScript, planeDir, TimeSpan.FromMinutes(10));
            using var cluster = Cluster.Connect(kubeconfig);
            return await RunOnAsync(cluster, kubeconfig, planeDir, options, cancel);
        }
        finally
        {
            try { await HackScript.DownAsync(PlaneScript, planeDir); Say("control plane stopped"); }
            catch (Exception e) { Console.Error.WriteLine($"chaos: stopping the control plane failed: {e.Message}"); }
        }
    }

    private static async Task<int> RunOnAsync(Cluster cluster, string kubeconfig, string planeDir, ChaosOptions options, CancellationToken cancel)
    {
        await Cluster.InstallCrdAsync(cluster.Api);
        await cluster.EnsureNamespaceAsync(Namespace);
        await using var history = new WatchHistory(cluster.Watches, Namespace);
        await history.WaitForSyncAsync();
        var fleet = new Fleet(cluster, new KubeletStandIn(cluster.Api, Namespace), history, Namespace);
        await fleet.CreateAsync(options.Groups, options.MinPods, options.MaxPods, new Random(options.Seed));
        await using var replicas = new Replicas(kubeconfig, Namespace, options);
        await replicas.StartAsync();
        await Wait.UntilAsync(() => Task.FromResult(fleet.GroupNames.All(g => fleet.Healthy(g) is not null)), TimeSpan.FromSeconds(90),
            "every group to have an active and a Ready standby");
        Say($"{options.Groups} groups ready; storm (at most {options.Duration.TotalSeconds:0} s)");

        var storm = new Storm(options, fleet, replicas, history, planeDir);
        var stormStart = DateTime.UtcNow;
        await storm.RunAsync(cancel);
        Say($"storm over after {(DateTime.UtcNow - stormStart).TotalSeconds:0} s; healing and waiting for convergence");
        var (took, unconverged) = (TimeSpan.Zero, new Dictionary<string, string>());
        // Cancelled (Ctrl+C, SIGTERM, the time limit): judge what was recorded and leave at once.
        if (!cancel.IsCancellationRequested)
        {
            await replicas.ReleaseAllAsync();
            await fleet.HealAllAsync();
            (took, unconverged) = await Convergence.WaitAsync(cluster, Namespace, fleet.GroupNames, options.ConvergeWithin);
        }
        var failovers = storm.Failovers;

        var verdict = Verdict.Judge(options, history, storm.Log, replicas, unconverged, failovers, cancel.IsCancellationRequested);
        Say($"converged in {took.TotalSeconds:0.0} s" + (unconverged.Count > 0 ? $" except {unconverged.Count} group(s)" : ""));
        verdict.Write(options, Path.Combine(options.RunDir, "findings.log"));
        history.WriteTo(Path.Combine(options.RunDir, "history.log"));
        return verdict.Ok ? 0 : 1;
    }

    public static void Say(string message) => Console.WriteLine($"chaos: {DateTime.UtcNow:HH:mm:ss} {message}");
}
