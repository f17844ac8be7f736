using FailoverOperator.Testing;

namespace FailoverBench;

public sealed partial class ScaleBenchmark
{
    /// <summary>Every group's active fails in one burst; measured until every group has a new active.</summary>
    private async Task<(List<(string Ns, string Name, string Active)>, FailoverResult[])> MassFailoverAsync(OperatorProcess op)
    {
        var targets = groups.Select(g => (g.Ns, g.Name, Active: timelines[g.Ns].ActiveOf(g.Name)
            ?? throw new InvalidOperationException($"group {g.Ns}/{g.Name} has no single active"))).ToList();
        var before = await op.ScrapeAsync();
        using var sampling = new CancellationTokenSource();
        var maxDepth = SampleQueueDepthAsync(op, sampling.Token);
        using var gate = new SemaphoreSlim(o.BurstConcurrency);
        var pending = await Task.WhenAll(targets.Select(async t =>
        {
            await gate.WaitAsync();
            try
            {
                return await timelines[t.Ns].FailAsync(t.Name, t.Active, null, () => Cluster.Retry(() => kubelets[t.Name].SetReadyAsync(t.Active, false)));
            }
            finally
            {
                gate.Release();
            }
        }));
        var results = await Task.WhenAll(pending.Select(f => f.WaitAsync(TimeSpan.FromMinutes(3))));
        await sampling.CancelAsync();
        var after = await op.ScrapeAsync();
        result.Mass = Summarize(results, before, after, await maxDepth);
        PrintMass(result.Mass);
        return (targets, results);
    }

    private static async Task<double> SampleQueueDepthAsync(OperatorProcess op, CancellationToken stop)
    {
        var maxDepth = 0.0;
        while (!stop.IsCancellationRequested)
        {
            // A busy operator may answer slowly or not at all: a missed sample is fine.
            try { maxDepth = Math.Max(maxDepth, (await op.ScrapeAsync()).Sum("failover_operator_workqueue_depth")); } catch (Exception) { }
            try { await Task.Delay(250, stop); } catch (OperationCanceledException) { }
        }
        return maxDepth;
    }

    private MassResult Summarize(FailoverResult[] results, OperatorMetrics before, OperatorMetrics after, double maxDepth)
    {
        var firstSent = results.Min(r => r.Sent);
        var lastAck = results.Max(r => r.Acked);
        var lastLabelled = results.Max(r => r.Labelled);
        double D(string prefix) => after.Sum(prefix) - before.Sum(prefix);
        var reconciles = D("failover_operator_reconcile_duration_seconds_count");
        var operatorFailovers = D("failover_operator_failover_duration_seconds_count");
        return new MassResult(
            BurstWriteMs: BenchCommand.Ms(firstSent, lastAck),
            AllLeasesMovedMs: BenchCommand.Ms(firstSent, results.Max(r => r.LeaseMoved)),
            AllPromotedMs: BenchCommand.Ms(firstSent, lastLabelled),
            AllPromotedAfterLastWriteMs: BenchCommand.Ms(lastAck, lastLabelled),
            PerGroupLease: Stats.Of(results.Select(r => r.LeaseMs)),
            PerGroupLabelled: Stats.Of(results.Select(r => r.LabelledMs)),
            BurstConcurrency: o.BurstConcurrency)
        {
            Reconciles = reconciles,
            MeanReconcileMs = reconciles > 0 ? D("failover_operator_reconcile_duration_seconds_sum") / reconciles * 1000 : double.NaN,
            MeanOperatorFailoverMs = operatorFailovers > 0 ? D("failover_operator_failover_duration_seconds_sum") / operatorFailovers * 1000 : double.NaN,
            MaxQueueDepth = maxDepth,
            WritesUntilAllPromotedByVerb = Delta(before.ApiRequests(), after.ApiRequests())
                .Where(kv => !kv.Key.StartsWith("GET", StringComparison.Ordinal) && !kv.Key.StartsWith("WATCH", StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key, kv => kv.Value),
        };
    }

    private void PrintMass(MassResult mass)
    {
        Console.WriteLine($"  mass failover: {n} failures written in {mass.BurstWriteMs / 1000:0.00} s (concurrency {o.BurstConcurrency}); " +
                          $"all {n} groups had a new active {mass.AllPromotedMs / 1000:0.00} s after the first was written " +
                          $"({mass.AllPromotedAfterLastWriteMs / 1000:0.00} s after the last); per group p50 {Stats.Ms(mass.PerGroupLabelled.P50)}, p99 {Stats.Ms(mass.PerGroupLabelled.P99)}");
        Console.WriteLine($"  operator side: {mass.Reconciles:0} reconciles, mean {mass.MeanReconcileMs:0} ms each; its own failover time (reconcile start -> labelled) mean " +
                          $"{mass.MeanOperatorFailoverMs:0} ms; work queue depth up to {mass.MaxQueueDepth:0}; its writes until the last promotion: {Verbs(mass.WritesUntilAllPromotedByVerb, "")}");
    }

    /// <summary>Waits until the operator sent no POST (Events, creates) for 2 s, and at least 3 s.</summary>
    private static async Task WaitQuietAsync(OperatorProcess op, TimeSpan max)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        double Posts(Dictionary<string, double> m) => m.Where(kv => kv.Key.StartsWith("POST", StringComparison.Ordinal)).Sum(kv => kv.Value);
        var last = Posts(await op.ApiRequestsAsync());
        var quietSince = System.Diagnostics.Stopwatch.StartNew();
        while (waited.Elapsed < max)
        {
            await Task.Delay(500);
            var now = Posts(await op.ApiRequestsAsync());
            if (now != last) { last = now; quietSince.Restart(); }
            else if (quietSince.Elapsed >= TimeSpan.FromSeconds(2) && waited.Elapsed >= TimeSpan.FromSeconds(3)) break;
        }
    }

    private static Dictionary<string, double> Delta(Dictionary<string, double> before, Dictionary<string, double> after) =>
        after.Select(kv => (kv.Key, Value: kv.Value - before.GetValueOrDefault(kv.Key))).Where(kv => kv.Value > 0).ToDictionary(kv => kv.Key, kv => kv.Value);

    private static string Verbs(Dictionary<string, double> byVerb, string unit) =>
        byVerb.Count == 0 ? "none" : string.Join(", ", byVerb.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key}: {kv.Value:0.##}{unit}"));
}
