using System.Collections.Concurrent;
using FailoverOperator.Testing;

namespace FailoverOperator.Chaos;

/// <summary>One look at one replica: alive, what /healthz answered (null: no answer), whether it leads (null: no metrics).</summary>
public sealed record ReplicaSample(DateTime At, string Slot, string Identity, bool Alive, int? Health, bool? Leader);

/// <summary>
/// The operator's two replicas, each its own process with --leader-elect=true, as a Deployment of two
/// would run them: a replica that exits, or fails its liveness probe, is started again (with a new
/// identity, as a new pod would have), and so is one the storm killed, after the storm's pause.
/// Every 250 ms each replica is sampled (alive, /healthz, leader metric): the oracle's leadership history.
/// </summary>
public sealed class Replicas(string kubeconfig, string ns, ChaosOptions options) : IAsyncDisposable
{
    /// <summary>The election Lease (--leader-election-name), in the run's namespace: its watch records prove when a leader wrote.</summary>
    public const string LeaseName = "failover-operator-leader";
    private static readonly TimeSpan SampleEvery = TimeSpan.FromMilliseconds(250);
    /// <summary>A liveness probe with period 1 s and failureThreshold 10.</summary>
    private static readonly TimeSpan LivenessGrace = TimeSpan.FromSeconds(10);

    private readonly string[] slots = ["a", "b"];
    private readonly ConcurrentDictionary<string, OperatorProcess?> running = new();
    private readonly ConcurrentDictionary<string, int> generations = new();
    /// <summary>Slots the storm took down on purpose: not restarted by the supervisor.</summary>
    private readonly ConcurrentDictionary<string, bool> heldDown = new();
    private readonly ConcurrentDictionary<string, DateTime> unhealthySince = new();
    private readonly CancellationTokenSource stop = new();
    private Task? sampler;

    public ConcurrentQueue<ReplicaSample> Samples { get; } = new();
    /// <summary>Replicas that exited on their own (not killed by the storm), and those restarted for failing /healthz.</summary>
    public ConcurrentQueue<string> SelfExits { get; } = new();
    public ConcurrentQueue<string> LivenessRestarts { get; } = new();
    public IEnumerable<string> LogPaths => slots.Select(LogPath);
    public bool AnyHeldDown => !heldDown.IsEmpty;

    public async Task StartAsync()
    {
        foreach (var slot in slots) await LaunchAsync(slot, waitReady: true);
        sampler = Task.Run(() => SampleLoopAsync(stop.Token));
    }

    /// <summary>The replica reporting itself leader now, if one does.</summary>
    public async Task<(string Slot, OperatorProcess Process)?> LeaderAsync()
    {
        foreach (var (slot, process) in running)
        {
            if (process is { HasExited: false } && await LeadsAsync(process) == true) return (slot, process);
        }
        return null;
    }

    /// <summary>Takes a replica down (SIGKILL, or SIGTERM and its graceful drain) and holds it down until <see cref="Release"/>.</summary>
    public async Task TakeDownAsync(string slot, bool graceful)
    {
        heldDown[slot] = true;
        if (running.TryGetValue(slot, out var process) && process is not null)
        {
            if (graceful) await process.StopAsync();
            else await process.KillAsync();
        }
    }

    /// <summary>Starts a held-down replica again (a new pod of the Deployment).</summary>
    public async Task ReleaseAsync(string slot)
    {
        await LaunchAsync(slot, waitReady: false);
        heldDown.TryRemove(slot, out _);
    }

    /// <summary>Every held-down replica started again, and both running: the state the convergence check needs.</summary>
    public async Task ReleaseAllAsync()
    {
        foreach (var slot in heldDown.Keys.ToList()) await ReleaseAsync(slot);
    }

    private async Task LaunchAsync(string slot, bool waitReady)
    {
        var generation = generations.AddOrUpdate(slot, 1, (_, n) => n + 1);
        var launch = new OperatorLaunch(kubeconfig)
        {
            Identity = $"replica-{slot}-{generation}",
            Namespace = ns,
            LogPath = LogPath(slot),
            // hack/chaos.sh kills what these name if this program itself is killed outright.
            PidFile = Path.Combine(options.RunDir, $"operator-{slot}.pid"),
            // The log's HH:mm:ss.fff stamps are compared with the history's UTC times.
            Env = new Dictionary<string, string> { ["TZ"] = "UTC" },
            Args = ["--leader-elect=true", $"--leader-election-namespace={ns}", $"--leader-election-name={LeaseName}", $"--leader-election-lease-seconds={(int)options.LeaderLease.TotalSeconds}"],
        };
        running[slot] = await OperatorProcess.StartAsync(launch, waitReady);
    }

    private string LogPath(string slot) => Path.Combine(options.RunDir, $"operator-{slot}.log");

    private async Task SampleLoopAsync(CancellationToken cancel)
    {
        while (!cancel.IsCancellationRequested)
        {
            var round = Task.Delay(SampleEvery, CancellationToken.None);
            foreach (var slot in slots)
            {
                try { await SampleAsync(slot); }
                catch (Exception e) when (e is not OperationCanceledException || !cancel.IsCancellationRequested)
                {
                    Console.Error.WriteLine($"chaos: sampling replica {slot} failed: {e.Message}");
                }
            }
            await round;
        }
    }

    private async Task SampleAsync(string slot)
    {
        if (!running.TryGetValue(slot, out var process) || process is null) return;
        var alive = !process.HasExited;
        var health = alive ? await ProbeAsync(process) : null;
        var leader = alive ? await LeadsAsync(process) : null;
        var now = DateTime.UtcNow;
        Samples.Enqueue(new ReplicaSample(now, slot, process.Identity, alive, health, leader));
        if (heldDown.ContainsKey(slot)) return;
        if (!alive)
        {
            SelfExits.Enqueue($"{now:HH:mm:ss.fff} {process.Identity} exited");
            await LaunchAsync(slot, waitReady: false);
            return;
        }
        if (health == 200) { unhealthySince.TryRemove(slot, out _); return; }
        var since = unhealthySince.GetOrAdd(slot, now);
        if (now - since < LivenessGrace) return;
        LivenessRestarts.Enqueue($"{now:HH:mm:ss.fff} {process.Identity} /healthz failing since {since:HH:mm:ss.fff}");
        unhealthySince.TryRemove(slot, out _);
        await process.KillAsync();
        await LaunchAsync(slot, waitReady: false);
    }

    private static async Task<int?> ProbeAsync(OperatorProcess process)
    {
        try { return (await process.LivenessAsync().WaitAsync(TimeSpan.FromSeconds(1))).Status; }
        catch (Exception e) when (e is HttpRequestException or TimeoutException or TaskCanceledException) { return null; }
    }

    private static async Task<bool?> LeadsAsync(OperatorProcess process)
    {
        try { return await process.IsLeaderAsync().WaitAsync(TimeSpan.FromSeconds(1)); }
        catch (Exception e) when (e is HttpRequestException or TimeoutException or TaskCanceledException) { return null; }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        if (sampler is not null) try { await sampler.WaitAsync(TimeSpan.FromSeconds(10)); } catch (Exception) { }
        foreach (var process in running.Values) if (process is not null) await process.DisposeAsync();
        stop.Dispose();
    }
}
