using System.Collections.Concurrent;
using System.Diagnostics;
using FailoverOperator.Failover;
using FailoverOperator.Testing;
using k8s;
using k8s.Models;

namespace FailoverOperator.Chaos;

/// <summary>
/// The seeded storm. Every choice (which groups, which fault, how long a pause) is drawn from one
/// <see cref="Random"/> on the storm's own loop, in order, so a seed replays the same sequence of choices
/// (the operator's timing still varies from run to run). Leader kills and API server restarts are spread
/// over three quarters of --duration; failures, bursts and foreign writes fill the time between. The storm
/// ends when every count is reached, or at --duration.
/// </summary>
public sealed partial class Storm(ChaosOptions options, Fleet fleet, Replicas replicas, WatchHistory history, string planeDir)
{
    private static readonly (FailureKind Kind, int Weight)[] Kinds =
    [
        (FailureKind.NotReady, 3), (FailureKind.ContainerRestart, 2), (FailureKind.PodFailed, 2),
        (FailureKind.GracefulDelete, 2), (FailureKind.ForceDelete, 2), (FailureKind.ForeignHolder, 1),
    ];

    private readonly Random random = new(options.Seed);
    private readonly ConcurrentDictionary<string, bool> busy = new();
    private readonly ConcurrentBag<Task> background = [];
    private bool injected;

    public StormLog Log { get; } = new();

    /// <summary>Lease transitions of every group so far: the failovers (the initial election is not one).</summary>
    public int Failovers => fleet.GroupNames.Sum(g => history.Lease(g)?.Spec?.LeaseTransitions ?? 0);

    private bool CountsReached => Failovers >= options.Failovers && Log.Kills.Count >= options.LeaderKills &&
                                 Log.Outages.Count >= options.ApiRestarts && ForeignWritesDone >= options.ForeignWrites;

    private bool Done => CountsReached && (options.Inject is null || injected);

    /// <summary>Foreign writes to labels and Leases other than the Lease handed to a stranger (a failure kind, counted there).</summary>
    private int ForeignWritesDone => Log.ForeignWrites.Count(f => f.Kind != ForeignKind.HolderToStranger);

    public async Task RunAsync(CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        var span = options.Duration * 0.75;
        while (!cancel.IsCancellationRequested && clock.Elapsed < options.Duration && !Done)
        {
            StartReplacements();
            if (Due(Log.Kills.Count, options.LeaderKills, clock.Elapsed, span, 0.5) && !replicas.AnyHeldDown) await LeaderKillAsync();
            else if (Due(Log.Outages.Count, options.ApiRestarts, clock.Elapsed, span, 0.7)) await ApiRestartAsync();
            else if (options.Inject == ChaosCommandLine.DoubleActive && !injected && (clock.Elapsed > span / 3 || CountsReached)) injected = await ForeignLabelAsync(declared: false);
            else await OrdinaryStepAsync();
            await Task.Delay(random.Next(150, 1000), CancellationToken.None);
        }
        // Recoveries still pending finish (each has its own deadline); what they leave is healed afterwards.
        try { await Task.WhenAll(background).WaitAsync(TimeSpan.FromMinutes(2)); }
        catch (TimeoutException) { Console.Error.WriteLine("chaos: some recoveries were still running 2 min after the storm"); }
    }

    /// <summary>The n-th of <paramref name="total"/> events is due at (n + offset) / total of the span.</summary>
    private static bool Due(int done, int total, TimeSpan elapsed, TimeSpan span, double offset) =>
        done < total && elapsed >= span * ((done + offset) / total);

    private Task OrdinaryStepAsync()
    {
        var roll = random.NextDouble();
        if (roll < 0.15 && ForeignWritesDone < options.ForeignWrites) return ForeignStepAsync();
        if (roll < 0.30) return FailGroupsAsync(random.Next(Math.Max(2, options.Groups / 4), Math.Max(3, options.Groups / 2 + 1)));
        return FailGroupsAsync(random.Next(1, 4));
    }

    /// <summary>Makes the actives of up to <paramref name="count"/> healthy groups fail at once (a burst when many).</summary>
    private async Task<int> FailGroupsAsync(int count)
    {
        var chosen = Shuffled(fleet.GroupNames.Where(g => !busy.ContainsKey(g) && fleet.Healthy(g) is not null)).Take(count)
            .Select(g => (Group: g, Active: fleet.Healthy(g)!.Value.Active, Kind: Pick(), RecoverAfter: random.Next(200, 2000)))
            .ToList();
        await Task.WhenAll(chosen.Select(c => TriggerAsync(c.Group, c.Active, c.Kind, c.RecoverAfter)));
        return chosen.Count;
    }

    private async Task TriggerAsync(string group, string pod, FailureKind kind, int recoverAfterMs)
    {
        busy[group] = true;
        var at = DateTime.UtcNow;
        var rv = await fleet.FailAsync(group, pod, kind);
        Log.Triggers.Enqueue(new Trigger(at, group, pod, kind));
        if (rv is not null) Log.ForeignWrites.Enqueue(new ForeignWrite(at, group, Fleet.Stranger, ForeignKind.HolderToStranger, rv, Declared: true));
        background.Add(RecoverLaterAsync(group, pod, kind, recoverAfterMs));
    }

    /// <summary>The kubelet recovers (or the ReplicaSet replaces) the failed pod once another pod took over, or after a minute.</summary>
    private async Task RecoverLaterAsync(string group, string failed, FailureKind kind, int afterMs)
    {
        try
        {
            await Wait.UntilAsync(() => Task.FromResult(TakenOver(group, failed, kind)), TimeSpan.FromSeconds(60), $"a new active in {group}");
        }
        catch (TimeoutException) { Console.Error.WriteLine($"chaos: {group}: no new active 60 s after {failed} failed ({kind})"); }
        await Task.Delay(afterMs);
        try { await fleet.RecoverAsync(group, failed, kind); }
        catch (Exception e) { Console.Error.WriteLine($"chaos: recovering {failed}: {e.Message}"); }
        busy.TryRemove(group, out _);
    }

    /// <summary>Another member is labelled active; for a Lease handed to a stranger, a member holds the Lease
    /// again (possibly the same pod, if it is still the one Ready the longest).</summary>
    private bool TakenOver(string group, string failed, FailureKind kind) =>
        kind == FailureKind.ForeignHolder
            ? history.Lease(group)?.Spec?.HolderIdentity is { Length: > 0 } holder && holder != Fleet.Stranger
            : history.Members(group).Any(p => p.Metadata.Name != failed && p.GetLabel(Cluster.RoleLabel) == Roles.Active);

    private void StartReplacements()
    {
        while (fleet.Replacements.TryDequeue(out var pod))
        {
            var after = random.Next(300, 1500);
            background.Add(Task.Run(async () =>
            {
                await Task.Delay(after);
                try { await fleet.StartReplacementAsync(pod); }
                catch (Exception e) { Console.Error.WriteLine($"chaos: starting replacement {pod}: {e.Message}"); }
            }));
        }
    }

    private FailureKind Pick()
    {
        var roll = random.Next(Kinds.Sum(k => k.Weight));
        foreach (var (kind, weight) in Kinds)
        {
            if (roll < weight) return kind;
            roll -= weight;
        }
        return FailureKind.NotReady;
    }

    private List<T> Shuffled<T>(IEnumerable<T> items)
    {
        var list = items.ToList();
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
        return list;
    }
}
